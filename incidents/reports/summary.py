"""Executive summary: narrative, status, the regulatory determinations and the deadline table."""

from __future__ import annotations

from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import choice_label, ts, yes_no
from incidents.assessments import CurrentAnswer
from incidents.clocks import ClockBoard, ClockState
from incidents.models import Incident, IncidentStatus
from incidents.reports.assessed import assessed_field


def summary_section(incident: Incident, board: ClockBoard, answers: dict[str, CurrentAnswer]) -> Section:
    gdpr = incident.personal_data or incident.special_categories
    hipaa = incident.phi and not incident.data_encrypted
    ai = incident.ai_serious or incident.ai_death or incident.ai_widespread or incident.ai_critical_infra
    rows = [
        [
            c.label,
            c.rule,
            ts(c.starts_at),
            ts(c.due_at),
            ts(c.filed_at),
            {
                ClockState.MET: "met",
                ClockState.LATE: "missed (filed late)",
                ClockState.OVERDUE: "missed",
                ClockState.WAITING: "start not recorded",
            }.get(c.state, f"open ({c.state.label})"),
        ]
        for c in board.clocks
    ]
    return Section(
        "summary",
        "Executive summary",
        paragraphs=[incident.summary] if incident.summary else [],
        fields=[
            Field("narrative", "Narrative", incident.summary or None),
            Field("status", "Current status", choice_label(IncidentStatus, incident.status)),
            assessed_field(
                answers, "gdpr.personal_data", "gdpr_breach", "GDPR: personal-data breach?", yes_no(gdpr) or ""
            ),
            assessed_field(
                answers, "gdpr.risk", "gdpr_notifiable", "GDPR: risk to data subjects (notifiable unless unlikely)"
            ),
            assessed_field(answers, "gdpr.art34", "gdpr_high_risk", "GDPR Art. 34: communicate to data subjects?"),
            assessed_field(
                answers,
                "hipaa.outcome",
                "hipaa_breach",
                "HIPAA: breach of unsecured PHI? (4-factor outcome)",
                "PHI encrypted (safe harbour)" if incident.phi and incident.data_encrypted else (yes_no(hipaa) or ""),
            ),
            assessed_field(answers, "ai_act.serious", "ai_serious", "EU AI Act: serious incident?", yes_no(ai) or ""),
            assessed_field(answers, "ai_act.category", "ai_category", "EU AI Act: category that sets the deadline"),
            assessed_field(
                answers, "response.other_obligations", "other_regimes", "Contractual / other (NIS2, state laws)"
            ),
        ],
        tables=[
            Table(
                "deadlines",
                "Deadlines",
                ["Regime", "Rule", "Clock start", "Due", "Done (first filing)", "Met / missed"],
                rows,
                empty="No regulatory clock applies to the facts recorded (no personal data, PHI or AI Act flag).",
                note="Processor → controller and BA → covered-entity clocks are not recorded by DR Portal.",
            )
        ],
    )
