"""Technical analysis, personal-data / PHI impact, likely consequences, and the measures taken and proposed."""

from __future__ import annotations

from typing import Any

from dr_portal.audit.models import AuditEvent
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import choice_label, day, ts, yes_no
from incidents.assessments import CurrentAnswer
from incidents.models import ActionItem, Category, Incident, IncidentAsset, Review
from incidents.reports.assessed import assessed_field
from incidents.reports.run_evidence import integrity_summary
from incidents.reports.timeline import seq_of_fact
from incidents.runs.models import RecoveryRun


def technical_section(
    incident: Incident,
    review: Review | None,
    links: list[IncidentAsset],
    answers: dict[str, CurrentAnswer],
    runs: list[RecoveryRun],
) -> Section:
    return Section(
        "technical",
        "Technical analysis",
        fields=[
            Field("nature", "Nature of the incident (Art. 33(3)(a))", choice_label(Category, incident.category)),
            assessed_field(answers, "gdpr.vector", "vector", "Attack vector / failure mode"),
            Field(
                "root_cause",
                "Root cause",
                (review.root_cause if review and review.root_cause else None)
                or ("under investigation" if incident.is_open else None),
            ),
            Field("contributing", "Contributing factors", review.contributing_factors if review else None),
            Field("systems", "Systems and data stores affected", ", ".join(link.asset.name for link in links) or None),
            assessed_field(
                answers, "response.backups_affected", "backups_affected", "Were backups themselves affected?"
            ),
            Field(
                "model_artefacts",
                "Model artefacts affected",
                ", ".join(link.asset.name for link in links if link.asset.kind == "model") or None,
            ),
            Field("integrity_check", "Integrity check of restored data (method, result)", integrity_summary(runs)),
        ],
    )


def impact_section(incident: Incident, events: list[AuditEvent], answers: dict[str, CurrentAnswer]) -> Section:
    def f(key: str, label: str, value: Any) -> Field:
        return Field(key, label, value, seq_of_fact(events, key) if value is not None else None)

    return Section(
        "impact",
        "Personal-data / PHI impact",
        fields=[
            f("personal_data", "Personal data involved", yes_no(incident.personal_data)),
            f("subject_categories", "Categories of data subjects", incident.subject_categories or None),
            f("subjects_approx", "Approximate number of data subjects", incident.subjects_approx),
            f("record_categories", "Categories of personal data records", incident.record_categories or None),
            f("records_approx", "Approximate number of records", incident.records_approx),
            f("special_categories", "Special categories (Art. 9)", yes_no(incident.special_categories)),
            f("phi", "PHI involved", yes_no(incident.phi)),
            assessed_field(answers, "hipaa.phi_types", "phi_types", "PHI types (§164.404(c)(1)(B))"),
            f(
                "data_encrypted",
                "Data unintelligible (encrypted, keys not compromised)",
                yes_no(incident.data_encrypted),
            ),
            assessed_field(answers, "hipaa.factor_1", "hipaa_factor_1", "4-factor (1) nature and extent"),
            assessed_field(answers, "hipaa.factor_2", "hipaa_factor_2", "4-factor (2) unauthorised recipient"),
            assessed_field(answers, "hipaa.factor_3", "hipaa_factor_3", "4-factor (3) actually acquired or viewed"),
            assessed_field(answers, "hipaa.factor_4", "hipaa_factor_4", "4-factor (4) mitigation"),
            assessed_field(answers, "hipaa.outcome", "hipaa_conclusion", "4-factor conclusion and approver"),
            assessed_field(answers, "hipaa.by_state", "by_state", "Counts by US state (§164.406 media threshold)"),
            assessed_field(answers, "gdpr.member_states", "by_member_state", "EU Member States concerned (lead SA)"),
            assessed_field(answers, "response.transfers", "transfers", "Third-country transfers involved"),
        ],
    )


def measures_section(events: list[AuditEvent], items: list[ActionItem], answers: dict[str, CurrentAnswer]) -> Section:
    moves = [
        [
            e.seq,
            ts(e.recorded_at),
            f"{e.payload.get('from')} → {e.payload.get('to')}",
            e.payload.get("reason") or "none given",
            e.actor_label,
        ]
        for e in events
        if e.action == "incident.status_changed"
    ]
    return Section(
        "measures",
        "Measures taken and proposed",
        intro="GDPR Art. 33(3)(d); HIPAA §164.404(c)(1)(C)-(D).",
        tables=[
            Table(
                "status_moves",
                "Containment, eradication and recovery (status changes)",
                ["Seq", "At", "Move", "Reason", "By"],
                moves,
                empty="The incident has not changed status.",
            ),
            Table(
                "actions",
                "What the organisation is doing (action items)",
                ["Action", "Kind", "Owner", "Due", "Status"],
                [
                    [i.title, i.get_kind_display(), i.owner.username, day(i.due_on), i.get_status_display()]
                    for i in items
                ],
                empty="No action items.",
            ),
        ],
        fields=[
            assessed_field(
                answers, "gdpr.measures_individuals", "mitigation_individuals", "Mitigation for individuals"
            ),
            assessed_field(answers, "response.steps_individuals", "steps_individuals", "Steps individuals should take"),
        ],
    )


def consequences_section(answers: dict[str, CurrentAnswer]) -> Section:
    return Section(
        "consequences",
        "Likely consequences",
        intro="GDPR Art. 33(3)(c).",
        fields=[
            assessed_field(answers, "gdpr.consequences", "consequences_subjects", "For data subjects"),
            assessed_field(answers, "response.consequences_org", "consequences_org", "For the organisation"),
            assessed_field(
                answers,
                "response.consequences_ai",
                "consequences_ai",
                "AI-specific harms (wrong outputs acted on, fundamental rights)",
            ),
        ],
    )
