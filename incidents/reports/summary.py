"""Executive summary: narrative, status, the regulatory determinations and the deadline table."""

from __future__ import annotations

from dr_portal.audit.models import AuditEvent
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import choice_label, ts, yes_no
from incidents.clocks import ClockBoard, ClockState
from incidents.models import Incident, Status
from incidents.reports.timeline import first_event


def summary_section(incident: Incident, events: list[AuditEvent], board: ClockBoard) -> Section:
    facts = [e for e in events if e.action == "incident.facts_updated"]
    decided = facts[-1] if facts else first_event(events, "incident.declared")
    by = decided.actor_label if decided else None
    at = ts(decided.recorded_at) if decided else None
    seq = decided.seq if decided else None
    note = f"decided by {by} at {at}; rationale not recorded" if decided else ""
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
            Field("status", "Current status", choice_label(Status, incident.status)),
            Field("gdpr_breach", "GDPR: personal-data breach?", yes_no(gdpr), seq, note),
            Field(
                "gdpr_notifiable",
                "GDPR: notifiable to the authority (risk)?",
                yes_no(gdpr) if gdpr else "no",
                seq,
                "follows from the personal-data flag; a risk assessment is not recorded",
            ),
            Field("gdpr_high_risk", "GDPR Art. 34: high risk to data subjects?", None),
            Field(
                "hipaa_breach",
                "HIPAA: breach of unsecured PHI?",
                yes_no(hipaa),
                seq,
                "PHI was encrypted (safe harbour)" if incident.phi and incident.data_encrypted else note,
            ),
            Field("hipaa_4factor", "HIPAA 4-factor risk assessment outcome", None),
            Field("ai_serious", "EU AI Act: serious incident?", yes_no(ai), seq, note),
            Field("other_regimes", "Contractual / other (NIS2, state laws)", None),
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
