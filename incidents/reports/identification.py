"""Incident identification (what, which assets, key times) and incident command (who held which role)."""

from __future__ import annotations

from typing import Any

from dr_portal.audit.models import AuditEvent
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import choice_label, person, ts
from dr_portal.pdf.wording import data_classes_label, tier_label
from incidents.assessments import CurrentAnswer
from incidents.models import (
    Category,
    DetectionSource,
    Incident,
    IncidentAsset,
    IncidentRole,
    IncidentStatus,
    RoleAssignment,
    Severity,
)
from incidents.reports.assessed import assessed_pair
from incidents.reports.run_evidence import data_restored_from_runs, service_restored_from_runs
from incidents.reports.timeline import first_event, run_event_seq, seq_of_fact, seq_of_status
from incidents.runs.models import RecoveryRun


def identification_section(
    incident: Incident, events: list[AuditEvent], links: list[IncidentAsset], runs: list[RecoveryRun]
) -> Section:
    # Without a time given by hand, the recovery runs say when the service was verified and the data was back.
    run_restored = service_restored_from_runs(runs)
    data_restored = data_restored_from_runs(runs)
    declared = first_event(events, "incident.declared")
    dseq = declared.seq if declared else None
    restored_seq = seq_of_fact(events, "restored_at") or seq_of_status(events, IncidentStatus.RESOLVED)
    times = [
        Field(
            "started_at",
            "Incident start (estimated)",
            ts(incident.started_at),
            seq_of_fact(events, "started_at") or (dseq if incident.started_at else None),
        ),
        Field("detected_at", "Detected", ts(incident.detected_at), seq_of_fact(events, "detected_at") or dseq),
        Field("declared_at", "Declared", ts(incident.declared_at), dseq),
        Field("aware_at", "GDPR “became aware”", ts(incident.aware_at), seq_of_fact(events, "aware_at")),
        Field("discovered_at", "HIPAA “discovered”", ts(incident.discovered_at), seq_of_fact(events, "discovered_at")),
        Field("ai_aware_at", "AI Act: provider aware", ts(incident.ai_aware_at), seq_of_fact(events, "ai_aware_at")),
        Field("contained_at", "Contained", ts(incident.contained_at), seq_of_fact(events, "contained_at")),
        Field(
            "restored_at",
            "Service restored",
            ts(incident.restored_at or run_restored),
            restored_seq if incident.restored_at else run_event_seq(events, "run.succeeded"),
            "" if incident.restored_at or not run_restored else "from the recovery run that verified the service",
        ),
        Field(
            "data_restored_at",
            "Data fully restored",
            ts(data_restored),
            run_event_seq(events, "step.succeeded", kind="restore"),
            "the last restore step of a verified recovery run finished" if data_restored else "",
        ),
        Field("closed_at", "Closed", ts(incident.closed_at), seq_of_status(events, IncidentStatus.CLOSED)),
    ]
    rows = [
        [
            link.asset.name,
            str(link.asset.public_id),
            link.asset.owner_team,
            tier_label(link.asset.tier),
            f"{link.asset.environment} / {link.asset.region}",
            data_classes_label(link.asset.data_class_labels),
            link.get_source_display(),
        ]
        for link in links
    ]
    return Section(
        "identification",
        "Incident identification",
        fields=[
            Field("reference", "Incident ID", f"{incident.reference} ({incident.public_id})"),
            Field("title", "Title", incident.title),
            Field("kind", "Kind", "DR drill" if incident.kind == "drill" else "Real incident"),
            Field("category", "Category", choice_label(Category, incident.category)),
            Field("severity", "Severity", choice_label(Severity, incident.severity)),
            Field("severity_rule", "Rule that set the severity", incident.severity_rule or None),
            Field("source", "Detection source", choice_label(DetectionSource, incident.source)),
            *times,
        ],
        tables=[
            Table(
                "assets",
                "Affected AI systems and assets",
                ["Asset", "Asset ID", "Owner", "Criticality", "Environment / region", "Data classification", "Linked"],
                rows,
                empty="No assets are linked to this incident.",
            )
        ],
    )


def roles_section(
    assignments: list[RoleAssignment], events: list[AuditEvent], answers: dict[str, CurrentAnswer]
) -> Section:
    def seq_for(a: RoleAssignment, action: str) -> int | None:
        for event in events:
            if (
                event.action == action
                and event.payload.get("role") == a.role
                and event.payload.get("user") == a.user.username
            ):
                moment = a.assigned_at if action.endswith("assigned") else a.relieved_at
                if moment is None or abs((event.recorded_at - moment).total_seconds()) < 5:
                    return event.seq
        return None

    rows: list[list[Any]] = []
    held = set()
    for a in sorted(assignments, key=lambda r: (r.assigned_at, r.pk)):
        held.add(a.role)
        assigned = seq_for(a, "incident.role_assigned")
        relieved = seq_for(a, "incident.role_relieved") if a.relieved_at else None
        refs = ", ".join(str(s) for s in (assigned, relieved) if s)
        rows.append(
            [
                choice_label(IncidentRole, a.role),
                person(a.user),
                person(a.assigned_by) or "system",
                ts(a.assigned_at),
                ts(a.relieved_at) or ("holds it" if a.relieved_at is None else None),
                refs or None,
            ]
        )
    for role in IncidentRole:
        if role not in held:
            rows.append([role.label, None, None, None, None, None])
    return Section(
        "roles",
        "Incident command and roles",
        intro="From the role assignments and their audit events. A role nobody held prints “not recorded”.",
        tables=[
            Table(
                "assignments",
                "Assignments",
                ["Role", "Assignee", "Assigned by", "Assigned at", "Handed over / relieved at", "Seq"],
                rows,
            )
        ],
        fields=[
            assessed_pair(
                answers,
                "response.break_glass",
                "response.break_glass_details",
                "break_glass",
                "Break-glass / emergency access used",
            )
        ],
    )
