"""The incident audit report assembled: read the incident once, seal the log, build each section in order."""

from __future__ import annotations

from datetime import datetime

from dr_portal.accounts.models import User
from dr_portal.accounts.selectors import organisation_profile, processor_relationships
from dr_portal.pdf.document import (
    Control,
    ReportDocument,
    Section,
    anchor_and_verify,
    event_ref,
    integrity_fields,
    retention_until,
)
from dr_portal.pdf.organisation import organisation_fields, processors_table
from dr_portal.pdf.wording import report_classification
from incidents.assessments import incident_assessment
from incidents.compliance.notices import incident_notifications
from incidents.compliance.register import breach_entry
from incidents.compliance.signoffs import signoff_status
from incidents.models import Incident
from incidents.reports.analysis import consequences_section, impact_section, measures_section, technical_section
from incidents.reports.assessed import assessed_text
from incidents.reports.attached import regulator_attachments
from incidents.reports.closing import evidence_section, lessons_section
from incidents.reports.filed import register_section, signoff_section, time_flags_table
from incidents.reports.identification import identification_section, roles_section
from incidents.reports.notifications import contacts_section, notifications_section
from incidents.reports.restoration import restoration_section
from incidents.reports.summary import summary_section
from incidents.reports.timeline import event_summary, timeline_section
from incidents.runs.selectors import runs_for_incident
from incidents.selectors import (
    incident_action_items,
    incident_assets,
    incident_board,
    incident_events,
    incident_review,
    incident_role_assignments,
)


def incident_report_document(
    *, incident: Incident, report_id: str, version: int, by: User, now: datetime
) -> ReportDocument:
    """Everything the incident audit report says, as data. Takes a checkpoint (writes to the audit log)."""
    events = incident_events(incident=incident)
    refs = [event_ref(e, summary=event_summary(e)) for e in events]
    anchor, verification = anchor_and_verify(first_seq=events[0].seq if events else None)
    links = incident_assets(incident=incident)
    runs = runs_for_incident(incident=incident)
    assignments = incident_role_assignments(incident=incident)
    items = incident_action_items(incident=incident)
    review = incident_review(incident=incident)
    board = incident_board(incident=incident, now=now)
    profile = organisation_profile()
    answers = {a.question.key: a for a in incident_assessment(incident=incident)}
    signoffs = signoff_status(incident=incident)
    draft = not (incident.is_closed and signoffs.complete)
    holders = sorted({a.user.username for a in assignments if a.relieved_at is None})
    control = Control(
        report_id=report_id,
        kind="incident",
        title=f"Incident audit report — {incident.reference}",
        subtitle=incident.title,
        version=version,
        status="draft" if draft else "final",
        generated_at=now,
        generated_by=by.username,
        generated_by_id=by.pk,
        classification=report_classification(phi=incident.phi),
        distribution="Compliance officers and administrators of DR Portal"
        + (f"; incident role holders: {', '.join(holders)}" if holders else ""),
        retention_until=retention_until(now),
        legal_hold=assessed_text(answers, "response.legal_hold"),
    )
    doc = ReportDocument(
        control=control,
        sections=[],
        events=refs,
        anchor=anchor,
        verification=verification,
        subject={
            "incident": str(incident.public_id),
            "public_id": str(incident.public_id),
            "reference": incident.reference,
            "kind": incident.kind,
            "status": incident.status,
        },
    )
    doc.files = regulator_attachments(incident, at=now)
    notifications = notifications_section(incident, incident_notifications(incident=incident), answers)
    identification = identification_section(incident, events, links, runs)
    identification.tables.append(time_flags_table(incident))
    doc.sections = [
        Section(
            "control",
            "Document control and integrity",
            intro=(
                (
                    "DRAFT: the incident is not closed, so facts may still change; a later version supersedes this one."
                    if not incident.is_closed
                    else "DRAFT: required sign-offs are missing (see Sign-off); a later version supersedes this one."
                )
                if draft
                else "Final: the incident is closed and every required sign-off is present."
            ),
            fields=[*integrity_fields(doc), *organisation_fields(profile)],
            tables=[processors_table(processor_relationships())],
        ),
        summary_section(incident, board, answers),
        identification,
        roles_section(assignments, events, answers),
        timeline_section(refs),
        technical_section(incident, review, links, answers, runs),
        impact_section(incident, events, answers),
        consequences_section(answers),
        measures_section(events, items, answers),
        restoration_section(incident, links, doc, answers, events),
        notifications,
        contacts_section(assignments, profile),
        evidence_section(links, refs, doc, answers),
        lessons_section(review, items, answers),
        signoff_section(
            review, signoffs, next((e.seq for e in reversed(events) if e.action == "review.signed_off"), None)
        ),
        register_section(incident, breach_entry(incident), items),
    ]
    return doc
