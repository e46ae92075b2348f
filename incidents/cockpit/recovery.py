"""Reads for the incident header: which runs are moving or waiting, how long, and the next deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from dr_portal.accounts.models import Role
from incidents.clocks import Clock
from incidents.models import Incident
from incidents.runs.models import RUN_ACTIVE, STEP_FINISHED, Approval, RecoveryRun, RunStatus, StepRun, StepState
from inventory.readiness import human_duration

# How a role reads in one line ("2 on-call approvals").
ROLE_SHORT: dict[str, str] = {
    Role.ONCALL_ENGINEER: "on-call",
    Role.INCIDENT_COMMANDER: "commander",
    Role.ADMIN: "admin",
    Role.COMPLIANCE_OFFICER: "compliance",
    Role.VIEWER: "viewer",
}


@dataclass(frozen=True)
class RunLine:
    run: RecoveryRun
    text: str  # "waiting for 1 of 2 on-call approvals, 4 min"
    waiting: bool


@dataclass(frozen=True)
class RecoveryState:
    runs: list[RunLine]
    declared_for: timedelta
    next_due: Clock | None


def _waiting_text(step: StepRun, now: datetime) -> str:
    have = sum(1 for a in step.approvals.all() if a.round == step.approval_round and a.decision == "approve")
    missing = max(0, step.approval_quorum - have)
    role = ROLE_SHORT.get(step.approval_role, step.approval_role)
    noun = "approval" if step.approval_quorum == 1 else "approvals"
    since = human_duration(now - (step.approval_requested_at or now))
    return f"waiting for {missing} of {step.approval_quorum} {role} {noun} ({step.title}), {since}"


def run_line(run: RecoveryRun, *, now: datetime) -> RunLine:
    """One line on where `run` stands, from its prefetched steps."""
    steps = list(run.steps.all())
    waiting = [s for s in steps if s.state == StepState.WAITING_APPROVAL]
    if run.status == RunStatus.WAITING_APPROVAL and waiting:
        return RunLine(run=run, text=_waiting_text(waiting[0], now), waiting=True)
    since = human_duration(now - (run.started_at or run.created_at))
    if run.status == RunStatus.QUEUED:
        return RunLine(run=run, text=f"queued for a worker, {since}", waiting=False)
    done = sum(1 for s in steps if s.state in STEP_FINISHED)
    running = [s for s in steps if s.state == StepState.RUNNING]
    doing = f": {running[0].title}" if running else ""
    verb = "verifying" if run.status == RunStatus.VERIFYING else "running"
    return RunLine(run=run, text=f"{verb}, {done} of {len(steps)} steps done{doing}, {since}", waiting=False)


def incident_recovery_state(*, incident: Incident, next_due: Clock | None) -> RecoveryState:
    now = timezone.now()
    runs = (
        RecoveryRun.objects.filter(incident=incident, status__in=RUN_ACTIVE)
        .annotate(step_count=Count("steps"), done_count=Count("steps", filter=Q(steps__state__in=STEP_FINISHED)))
        .prefetch_related(
            Prefetch("steps", queryset=StepRun.objects.order_by("group", "position")),
            Prefetch("steps__approvals", queryset=Approval.objects.all()),
        )
        .order_by("created_at", "pk")
    )
    return RecoveryState(
        runs=[run_line(run, now=now) for run in runs],
        declared_for=now - incident.declared_at,
        next_due=next_due,
    )
