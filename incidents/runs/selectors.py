"""Reads for runs: lists, the live page, queue places, pending approvals, dry runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from dr_portal.accounts.access import Perm, can
from dr_portal.accounts.models import Role, User
from dr_portal.ops.services import heartbeat_latest
from incidents.models import OPEN_STATUSES, Incident
from incidents.runs.models import (
    STEP_FINISHED,
    Approval,
    RecoveryRun,
    RunLock,
    RunStatus,
    StepRun,
    StepState,
)
from incidents.runs.resolve import Resolution, resolve
from incidents.runs.services.approvals import valid_approvers
from inventory.models import RecoveryPlan

RUN_PAGE = 50


def _counted(runs: QuerySet[RecoveryRun]) -> QuerySet[RecoveryRun]:
    return (
        runs.select_related("plan", "requested_by", "incident")
        .annotate(step_count=Count("steps"), done_count=Count("steps", filter=Q(steps__state__in=STEP_FINISHED)))
        .order_by("-created_at", "-pk")
    )


def run_list(*, incident: Incident | None = None, limit: int = 100) -> QuerySet[RecoveryRun]:
    """The newest runs with their step counts; the counts are taken for these runs only, not every run."""
    runs = RecoveryRun.objects.all() if incident is None else RecoveryRun.objects.filter(incident=incident)
    newest = runs.order_by("-created_at", "-pk").values("pk")[:limit]
    return _counted(RecoveryRun.objects.filter(pk__in=newest))


@dataclass(frozen=True)
class RunPage:
    runs: list[RecoveryRun]
    older: str  # the public id to page on from, when older runs exist; "" on the last page


def run_page(*, before: str = "", size: int = RUN_PAGE) -> RunPage:
    """One page of the runs list, newest first, by keyset on (created_at, id) after the run named `before`.

    A `before` that names no run (mistyped, or not an id at all) starts from the newest."""
    runs = RecoveryRun.objects.all()
    mark = None
    if before:
        try:
            mark = RecoveryRun.objects.filter(public_id=uuid.UUID(before)).values_list("created_at", "pk").first()
        except ValueError:
            mark = None
    if mark is not None:
        at, pk = mark
        # `created_at <= at` bounds the index range; the OR only decides the ties at `at` itself.
        runs = runs.filter(Q(created_at__lte=at), Q(created_at__lt=at) | Q(pk__lt=pk))
    newest = runs.order_by("-created_at", "-pk").values("pk")[: size + 1]
    rows = list(_counted(RecoveryRun.objects.filter(pk__in=newest)))
    return RunPage(runs=rows[:size], older=str(rows[size - 1].public_id) if len(rows) > size else "")


def run_steps(*, run: RecoveryRun) -> list[StepRun]:
    return list(
        run.steps.select_related("asset", "point", "acted_by").prefetch_related(
            Prefetch("approvals", queryset=Approval.objects.select_related("approver"))
        )
    )


@dataclass(frozen=True)
class QueuePlace:
    position: int  # 1: next to start
    ahead: list[RecoveryRun]
    workers_seen: datetime | None

    @property
    def workers_alive(self) -> bool:
        return self.workers_seen is not None and timezone.now() - self.workers_seen < timedelta(
            seconds=settings.WORKER_HEARTBEAT_MAX_AGE
        )


def run_queue_place(*, run: RecoveryRun) -> QueuePlace | None:
    """Where a queued run stands: the runs holding or first in line for any of its assets."""
    if run.status != RunStatus.QUEUED:
        return None
    asset_ids = list(run.assets.values_list("pk", flat=True))
    holders = RecoveryRun.objects.filter(pk__in=RunLock.objects.filter(asset_id__in=asset_ids).values("run_id"))
    earlier = RecoveryRun.objects.filter(status=RunStatus.QUEUED, pk__lt=run.pk, assets__in=asset_ids)
    ahead = sorted({r.pk: r for r in [*holders.exclude(pk=run.pk), *earlier]}.values(), key=lambda r: r.pk)
    return QueuePlace(position=len(ahead) + 1, ahead=ahead, workers_seen=heartbeat_latest())


def run_progress(*, steps: list[StepRun]) -> dict[str, Any]:
    total = sum(s.bytes_total or 0 for s in steps if s.kind == "restore")
    done = sum(min(s.bytes_done, s.bytes_total or 0) for s in steps if s.kind == "restore")
    otherwise: dict[str, int] = {}  # finished but not succeeded: "1 failed, 2 cancelled"
    for s in steps:
        if s.state in STEP_FINISHED and s.state != StepState.SUCCEEDED:
            label = StepState(s.state).label.lower()
            otherwise[label] = otherwise.get(label, 0) + 1
    return {
        "steps": len(steps),
        "finished": sum(1 for s in steps if s.state in STEP_FINISHED),
        "otherwise": ", ".join(f"{n} {label}" for label, n in otherwise.items()),
        "bytes_total": total,
        "bytes_done": done,
        "percent": int(100 * done / total) if total else 0,
        # Running steps that say where they stand (the member and phase of a connector restore).
        "now": [s for s in steps if s.phase_for is not None],
    }


@dataclass(frozen=True)
class PendingApproval:
    step: StepRun
    run: RecoveryRun
    approvers: list[str]
    mine: Approval | None
    data_loss: timedelta | None
    blocked: str  # why this person cannot decide, or ""

    @property
    def waiting_for(self) -> int:
        return max(0, self.step.approval_quorum - len(self.approvers))

    @property
    def expires_at(self) -> datetime | None:
        if self.step.approval_requested_at is None:
            return None
        return self.step.approval_requested_at + timedelta(minutes=settings.RUN_APPROVAL_TTL_MINUTES)


def _why_not(step: StepRun, user: User) -> str:
    if step.approval_requested_by_id == user.pk:
        return "You asked for this step; someone else must approve it."
    if any(person.pk == user.pk for person in step.changed_by.all()):
        return "You changed this step; someone else must approve it."
    if user.role not in (step.approval_role, Role.ADMIN):
        return f"Needs {Role(step.approval_role).label}."
    if not can(user, Perm.APPROVE_STEPS):
        return "Confirm your second factor to decide."
    return ""


def approvals_pending(*, user: User) -> list[PendingApproval]:
    """Steps waiting for approval, oldest request first, with what each would do."""
    steps = (
        StepRun.objects.waiting_for_approval()
        .select_related("run", "run__plan", "run__requested_by", "asset", "point", "approval_requested_by")
        .prefetch_related(Prefetch("approvals", queryset=Approval.objects.select_related("approver")), "changed_by")
        .order_by("approval_requested_at")
    )
    now = timezone.now()
    items = []
    for step in steps:
        counting = set(valid_approvers(step, now=now))
        current = [a for a in step.approvals.all() if a.round == step.approval_round]
        names = [a.approver.get_username() for a in current if a.approver_id in counting]
        mine = next((a for a in current if a.approver_id == user.pk and a.digest == step.params_digest), None)
        loss = step.run.outage_started_at - step.point.data_as_of if step.point else None
        items.append(
            PendingApproval(
                step=step, run=step.run, approvers=names, mine=mine, data_loss=loss, blocked=_why_not(step, user)
            )
        )
    return items


def run_dry_run(*, plan: RecoveryPlan, mode: str) -> Resolution:
    return resolve(plan=plan, mode=mode)


def plan_covering(*, incident_id: str) -> RecoveryPlan | None:
    """The one plan with a step for every asset of the open incident or drill; None when none or several do."""
    try:
        incident = incidents_open_for_runs().filter(public_id=uuid.UUID(incident_id)).first()
    except ValueError:
        return None
    assets = set(incident.asset_links.values_list("asset_id", flat=True)) if incident else set()
    if not assets:
        return None
    plans = RecoveryPlan.objects.filter(steps__asset_id__in=assets).annotate(
        covered=Count("steps__asset_id", filter=Q(steps__asset_id__in=assets), distinct=True)
    )
    found = list(plans.filter(covered=len(assets))[:2])
    return found[0] if len(found) == 1 else None


def incidents_open_for_runs() -> QuerySet[Incident]:
    return Incident.objects.filter(status__in=OPEN_STATUSES).order_by("-declared_at")


def runs_for_incident(*, incident: Incident) -> list[RecoveryRun]:
    """The incident's recovery runs, oldest first, with their assets and requester."""
    return list(
        RecoveryRun.objects.filter(incident=incident)
        .prefetch_related("assets")
        .select_related("requested_by")
        .order_by("created_at", "pk")
    )


def runs_finished_between(*, start: datetime, end: datetime) -> list[RecoveryRun]:
    """Recovery runs (drills and recoveries) that finished in [start, end), oldest first, with their assets."""
    return list(
        RecoveryRun.objects.filter(finished_at__gte=start, finished_at__lt=end)
        .prefetch_related("assets")
        .order_by("finished_at", "pk")
    )
