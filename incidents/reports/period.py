"""The readiness report's sections that come from incidents: drills, incidents and recovery runs in a period.

The readiness report belongs to inventory/, which must not import incidents/; the report service
builds these here and passes them in.
"""

from __future__ import annotations

from datetime import datetime

from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import achieved_of_target, choice_label, duration, ts
from incidents.models import IncidentStatus, Severity
from incidents.runs.selectors import runs_finished_between
from incidents.selectors import drill_plan, drills_declared_between, incident_rows, real_incidents_declared_between
from inventory.reports import MeasuredRun


def period_drills_section(*, start: datetime, end: datetime, now: datetime) -> Section:
    """DR drills and exercises held in [start, end) (COMPLIANCE.md, readiness §7)."""
    drills = drills_declared_between(start=start, end=end)
    rows = []
    for d in drills:
        outcomes = "; ".join(f"{link.asset.name}: {link.get_drill_outcome_display()}" for link in d.asset_links.all())
        people = ", ".join(sorted({f"{a.user.username} ({a.get_role_display()})" for a in d.assignments.all()}))
        achieved = "; ".join(
            f"{run.reference}: RTO {achieved_of_target(run.achieved_rto_seconds, run.rto_target_seconds)}, "
            f"RPO {achieved_of_target(run.achieved_rpo_seconds, run.rpo_target_seconds)}"
            for run in d.recovery_runs.all()
            if run.achieved_rto_seconds is not None
        )
        rows.append(
            [
                d.reference,
                d.title,
                ts(d.declared_at),
                choice_label(IncidentStatus, d.status),
                people or None,
                outcomes or None,
                achieved or None,
            ]
        )
    plan = drill_plan(now=now)
    enabled = [p for p in plan if p.enabled]
    next_due = min((p.due_at for p in enabled if p.due_at), default=None)
    overdue = [p.asset.name for p in plan if p.overdue]
    return Section(
        "drills",
        "DR drills and exercises",
        fields=[
            Field("drills_run", "Drills run in the period", len(drills)),
            Field("drills_scheduled", "Assets with a drill schedule", len(enabled)),
            Field("drills_overdue", "Assets whose drill is overdue now", ", ".join(overdue) if overdue else "none"),
            Field("next_drill", "Next scheduled drill due", ts(next_due)),
            Field("emergency_mode", "Emergency-mode operation plan exercised (§164.308(a)(7)(ii)(C))", None),
            Field("approval_timing", "Manual-approval workflow timing (request → approvals → execution)", None),
        ],
        tables=[
            Table(
                "drills",
                "Drills",
                [
                    "Drill",
                    "Scenario",
                    "Date",
                    "Status",
                    "Participants and roles",
                    "Outcome per asset",
                    "RTO/RPO achieved",
                ],
                rows,
                empty="No drill was run in the period.",
                note="RTO/RPO achieved / target by the drill's recovery runs; Restore tests lists every run.",
            ),
        ],
    )


def period_incidents_section(*, start: datetime, end: datetime, now: datetime) -> Section:
    """Real incidents declared in [start, end) with their clocks (COMPLIANCE.md, readiness §12)."""
    incidents = real_incidents_declared_between(start=start, end=end)
    rows = []
    for row in incident_rows(incidents, now=now):
        i = row.incident
        clocks = "; ".join(f"{c.label}: {'missed' if c.missed else c.state.label}" for c in row.board.clocks)
        restore = i.restored_at - (i.started_at or i.detected_at or i.declared_at) if i.restored_at else None
        rows.append(
            [
                i.reference,
                i.title,
                choice_label(Severity, i.severity),
                choice_label(IncidentStatus, i.status),
                ", ".join(link.asset.name for link in i.asset_links.all()) or None,
                duration(restore),
                clocks or "no clock applies",
            ]
        )
    return Section(
        "incidents",
        "Incidents in the period",
        fields=[
            Field("incident_count", "Incidents declared in the period", len(incidents)),
            Field("recurring", "Recurring root causes", None),
        ],
        tables=[
            Table(
                "incidents",
                "Incidents",
                ["Incident", "Title", "Severity", "Status", "Affected assets", "Time to restore", "Deadlines"],
                rows,
                empty="No incident was declared in the period.",
                note="Each has its own incident audit report; time to restore is start → service restored.",
            ),
        ],
    )


def period_recovery_runs(*, start: datetime, end: datetime) -> list[MeasuredRun]:
    """Recovery runs (drills and recoveries) finished in [start, end), oldest first, for the readiness report."""
    return [
        MeasuredRun(
            reference=run.reference,
            mode=run.get_mode_display(),
            status=run.get_status_display(),
            assets=tuple(sorted(a.name for a in run.assets.all())),
            finished_at=run.finished_at,
            rto_achieved_s=run.achieved_rto_seconds,
            rto_target_s=run.rto_target_seconds,
            rpo_achieved_s=run.achieved_rpo_seconds,
            rpo_target_s=run.rpo_target_seconds,
        )
        for run in runs_finished_between(start=start, end=end)
    ]
