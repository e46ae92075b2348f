"""Reads for incident pages, the API and the dashboard.

The timeline is a projection of the audit log: `AuditEvent` rows whose
`incident_id` is the incident's public id, newest first, paged by seq.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.clocks import CLOCK_PREFETCH, ClockBoard, clock_inputs, incident_clocks
from incidents.models import (
    ActionItem,
    ActionStatus,
    AlertRecord,
    AlertStatus,
    DelayReason,
    GeneratedReport,
    InboxAlert,
    InboxState,
    Incident,
    IncidentAsset,
    IncidentKind,
    IncidentRole,
    IncidentStatus,
    Pin,
    Review,
    RoleAssignment,
)
from inventory.models import Asset
from inventory.readiness import AssetReadiness
from inventory.selectors import readiness_counts, readiness_worst

TIMELINE_PAGE = 50

# Timeline filters: a kind is a set of audit-action prefixes.
TIMELINE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("Status and severity", ("incident.declared", "incident.status_changed", "incident.severity_changed")),
    "notes": ("Notes and pins", ("incident.note_", "incident.entry_")),
    "roles": ("Roles", ("incident.role_",)),
    "alerts": ("Alerts", ("alert.",)),
    # incident.filing_recorded: the register's events before it was folded into notifications; the log keeps them.
    "compliance": (
        "Compliance",
        ("incident.facts_updated", "incident.notification_", "incident.filing_", "incident.delay_", "deadline."),
    ),
    "actions": ("Actions and review", ("action_item.", "review.", "drill.")),
    "messages": ("Notifications sent", ("delivery.",)),
    "recovery": ("Recovery", ("run.", "step.")),
}


def timeline_kind_of(action: str) -> str:
    for key, (_, prefixes) in TIMELINE_KINDS.items():
        if action.startswith(prefixes):
            return key
    return "other"


def _kind_filter(kind: str) -> Q:
    if kind == "other":
        known = Q()
        for _, prefixes in TIMELINE_KINDS.values():
            for prefix in prefixes:
                known |= Q(action__startswith=prefix)
        return ~known
    if kind not in TIMELINE_KINDS:
        return Q()
    condition = Q()
    for prefix in TIMELINE_KINDS[kind][1]:
        condition |= Q(action__startswith=prefix)
    return condition


@dataclass(frozen=True)
class TimelinePage:
    entries: list[AuditEvent]
    pinned: set[int]
    newest_seq: int
    oldest_seq: int | None
    has_more: bool
    kind: str


def timeline_events(*, incident: Incident, kind: str = "") -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(incident_id=incident.public_id).filter(_kind_filter(kind)).order_by("-seq")


def timeline_page(
    *,
    incident: Incident,
    kind: str = "",
    before: int | None = None,
    after: int | None = None,
    limit: int = TIMELINE_PAGE,
) -> TimelinePage:
    """Newest-first entries: a first page, older ones (`before` a seq), or new ones (`after` a seq)."""
    events = timeline_events(incident=incident, kind=kind)
    if after is not None:
        rows = list(events.filter(seq__gt=after)[:500])
        has_more = False
    else:
        if before is not None:
            events = events.filter(seq__lt=before)
        rows = list(events[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
    pinned = set(Pin.objects.filter(incident=incident).values_list("seq", flat=True))
    newest = rows[0].seq if rows else (after or 0)
    if after is None and before is not None and not rows:
        newest = before
    return TimelinePage(
        entries=rows,
        pinned=pinned,
        newest_seq=max(newest, after or 0),
        oldest_seq=rows[-1].seq if rows else None,
        has_more=has_more,
        kind=kind,
    )


def pinned_entries(*, incident: Incident, seqs: Iterable[int] | None = None) -> list[AuditEvent]:
    """The pinned entries, newest first; `seqs`: the pins when the caller has them (no query when there are none)."""
    if seqs is None:
        seqs = list(Pin.objects.filter(incident=incident).values_list("seq", flat=True))
    wanted = sorted(seqs)
    if not wanted:
        return []
    return list(AuditEvent.objects.filter(incident_id=incident.public_id, seq__in=wanted).order_by("-seq"))


# --- one incident -----------------------------------------------------------------


def incident_board(*, incident: Incident, now: datetime | None = None) -> ClockBoard:
    return incident_clocks(incident, now=now or timezone.now(), **clock_inputs(incident))


def current_roles(*, incident: Incident) -> dict[str, RoleAssignment]:
    rows = RoleAssignment.objects.filter(incident=incident, relieved_at__isnull=True).select_related("user")
    return {row.role: row for row in rows}


def role_history(*, incident: Incident) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.filter(incident=incident)
        .select_related("user", "assigned_by", "relieved_by")
        .order_by("-assigned_at", "-pk")
    )


def incident_assets(*, incident: Incident) -> list[IncidentAsset]:
    return list(IncidentAsset.objects.filter(incident=incident).select_related("asset", "asset__policy"))


def incident_alert_records(*, incident: Incident) -> list[AlertRecord]:
    """The alerts attached to an incident, firing first, newest first."""
    return sorted(incident.alerts.all(), key=lambda a: (a.status != AlertStatus.FIRING, -a.last_seen_at.timestamp()))


def incident_action_items(*, incident: Incident) -> list[ActionItem]:
    return list(ActionItem.objects.filter(incident=incident).select_related("owner").order_by("status", "due_on", "pk"))


# --- lists and the dashboard --------------------------------------------------------


@dataclass(frozen=True)
class IncidentFilters:
    status: str = ""  # "open", "closed", a Status value, or "" for all
    kind: str = ""
    severity: str = ""
    q: str = ""


def incident_filtered(*, filters: IncidentFilters) -> QuerySet[Incident]:
    """Incidents matching the filters, nothing joined or counted yet."""
    rows = Incident.objects.all()
    if filters.status == "open":
        rows = rows.open()
    elif filters.status == "active":
        rows = rows.not_closed()
    elif filters.status in IncidentStatus.values:
        rows = rows.filter(status=filters.status)
    if filters.kind in IncidentKind.values:
        rows = rows.filter(kind=filters.kind)
    if filters.severity:
        rows = rows.filter(severity=filters.severity)
    if filters.q.strip():
        rows = rows.filter(title__icontains=filters.q.strip())
    return rows


def _with_commanders(rows: QuerySet[Incident]) -> QuerySet[Incident]:
    commanders = RoleAssignment.objects.filter(role=IncidentRole.COMMANDER, relieved_at__isnull=True).select_related(
        "user"
    )
    return rows.prefetch_related(Prefetch("assignments", queryset=commanders, to_attr="commanders"))


def incident_list(*, filters: IncidentFilters) -> QuerySet[Incident]:
    """For the pages: each row's asset count, commander and clock inputs, newest first."""
    return (
        _with_commanders(incident_filtered(filters=filters))
        .annotate(asset_count=Count("asset_links", distinct=True))
        .prefetch_related(*CLOCK_PREFETCH)
        .order_by("-declared_at", "-pk")
    )


def incident_api_list(*, filters: IncidentFilters) -> QuerySet[Incident]:
    """For the API's list: only what it shows (the commander), so a page of it is one indexed range read and one
    prefetch however many incidents there are (no count, no aggregate over every incident before the page)."""
    return _with_commanders(incident_filtered(filters=filters)).order_by("-declared_at", "-pk")


@dataclass
class IncidentRow:
    incident: Incident
    commander: User | None
    board: ClockBoard


def incident_rows(incidents: Iterable[Incident], *, now: datetime | None = None) -> list[IncidentRow]:
    """Rows with commander and clocks from prefetched data (see `incident_list`): no query per row."""
    now = now or timezone.now()
    rows = []
    for incident in incidents:
        commanders = getattr(incident, "commanders", [])
        board = incident_clocks(incident, now=now, **clock_inputs(incident))
        rows.append(IncidentRow(incident, commanders[0].user if commanders else None, board))
    return rows


@dataclass
class ReadinessSummary:
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    worst: list[AssetReadiness] = field(default_factory=list)


def readiness_summary(*, limit: int = 5) -> ReadinessSummary:
    """From the stored readiness: one aggregate query and the few worst rows."""
    counts = readiness_counts()
    return ReadinessSummary(counts=counts, total=sum(counts.values()), worst=readiness_worst(limit=limit))


def my_action_items(*, user: Any, limit: int = 10) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(owner=user, status=ActionStatus.OPEN)
        .select_related("incident")
        .order_by("due_on", "pk")[:limit]
    )


def recent_drills(*, limit: int = 5) -> list[Incident]:
    links = IncidentAsset.objects.select_related("asset")
    return list(
        Incident.objects.drills()
        .prefetch_related(Prefetch("asset_links", queryset=links))
        .order_by("-declared_at", "-pk")[:limit]
    )


@dataclass
class DrillPlanRow:
    asset: Asset
    enabled: bool
    scenario: str
    due_at: datetime | None
    overdue: bool


def drill_plan(*, now: datetime | None = None) -> list[DrillPlanRow]:
    """Every asset with a policy: its drill schedule, and when the cadence says the next drill is due."""
    from incidents.models import DrillSchedule

    now = now or timezone.now()
    schedules = {s.asset_id: s for s in DrillSchedule.objects.all()}
    rows = []
    for asset in Asset.objects.filter(policy__isnull=False).select_related("policy").order_by("name"):
        schedule = schedules.get(asset.pk)
        due = drill_due_at(asset)
        rows.append(
            DrillPlanRow(
                asset=asset,
                enabled=bool(schedule and schedule.enabled),
                scenario=schedule.scenario if schedule else "",
                due_at=due,
                overdue=due is not None and due <= now,
            )
        )
    return rows


def drill_due_at(asset: Asset) -> datetime | None:
    """When the asset's next drill is due under its policy's cadence; None without a policy."""
    if asset.policy is None:
        return None
    since = asset.last_drill_at or asset.policy_assigned_at or asset.created_at
    return since + timedelta(days=asset.policy.drill_cadence_days)


# --- generated reports -----------------------------------------------------------------


def report_list(*, limit: int = 100) -> QuerySet[GeneratedReport]:
    """Newest first, with what each row shows in one query."""
    return GeneratedReport.objects.select_related("incident", "requested_by").order_by("-requested_at", "-pk")[:limit]


def report_incident_choices(*, limit: int = 200) -> list[Incident]:
    return list(Incident.objects.order_by("-declared_at", "-pk")[:limit])


def inbox_alert_list(*, state: str = InboxState.OPEN) -> QuerySet[InboxAlert]:
    """Inbox alerts in one state, firing first, most recently seen first."""
    rows = InboxAlert.objects.filter(state=state).select_related("incident", "handled_by")
    return rows.order_by("status", "-last_seen_at", "-pk")


def inbox_handled_recently(*, limit: int = 20) -> list[InboxAlert]:
    rows = InboxAlert.objects.exclude(state=InboxState.OPEN).select_related("incident", "handled_by")
    return list(rows.order_by("-handled_at", "-pk")[:limit])


def attachable_incidents() -> list[Incident]:
    """Incidents an inbox alert may join: real or drill, not closed, newest first."""
    return list(Incident.objects.not_closed().order_by("-declared_at", "-pk")[:100])


# --- what the compliance reports read ----------------------------------------------------


def incident_events(*, incident: Incident) -> list[AuditEvent]:
    """Every audit event carrying the incident's id, oldest first: the report's timeline."""
    return list(AuditEvent.objects.filter(incident_id=incident.public_id).select_related("personal").order_by("seq"))


def incident_role_assignments(*, incident: Incident) -> list[RoleAssignment]:
    """Every assignment, current and relieved, oldest first."""
    return list(
        RoleAssignment.objects.filter(incident=incident)
        .select_related("user", "assigned_by", "relieved_by")
        .order_by("assigned_at", "pk")
    )


def incident_delay_reasons(*, incident: Incident) -> list[DelayReason]:
    return list(
        DelayReason.objects.filter(incident=incident).select_related("recorded_by").order_by("recorded_at", "pk")
    )


def incident_review(*, incident: Incident) -> Review | None:
    return Review.objects.filter(incident=incident).select_related("updated_by", "signed_off_by").first()


def drills_declared_between(*, start: datetime, end: datetime) -> list[Incident]:
    """Drills declared in [start, end), oldest first, with their assets' outcomes, participants and runs."""
    return list(
        Incident.objects.drills()
        .filter(declared_at__gte=start, declared_at__lt=end)
        .prefetch_related("asset_links__asset__policy", "assignments__user", "recovery_runs")
        .order_by("declared_at", "pk")
    )


def real_incidents_declared_between(*, start: datetime, end: datetime) -> list[Incident]:
    """Real (not drill) incidents declared in [start, end), oldest first, with what their clocks need."""
    return list(
        Incident.objects.filter(kind=IncidentKind.REAL, declared_at__gte=start, declared_at__lt=end)
        .prefetch_related(*CLOCK_PREFETCH, "asset_links__asset")
        .order_by("declared_at", "pk")
    )
