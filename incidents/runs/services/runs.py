"""Runs: start, advance group by group, cancel, verify, finish and clean up; the reconciler.

A run is a `RecoveryRun` row moved through
queued → running ⇄ waiting_approval → verifying → succeeded | partially_failed | failed | cancelled
by the services here, always under a lock on the run row. Workers get only ids.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.queue import send_on_commit
from incidents.models import Incident, IncidentKind
from incidents.runs.models import (
    STEP_FINISHED,
    STEP_IN_FLIGHT,
    STEP_UNSUCCESSFUL,
    Mode,
    RecoveryRun,
    RunLock,
    RunStatus,
    StepRun,
    StepState,
)
from incidents.runs.resolve import resolve
from incidents.runs.services.approvals import step_request_approval
from incidents.runs.services.common import (
    RunRefused,
    audit_run,
    audit_step,
    dispatch_step,
    send_advance,
    send_cleanup,
    step_digest,
)
from incidents.runs.services.drill_outcomes import run_drill_outcomes
from inventory.models import RecoveryPlan

log = logging.getLogger(__name__)

# How far back a stated outage start may lie: further is a typo (a wrong year), and it would put the
# achieved RTO at years.
OUTAGE_LOOKBACK = timedelta(days=366)


@transaction.atomic
def run_start(
    *,
    plan: RecoveryPlan,
    mode: str,
    by: User | None,
    incident: Incident | None,
    outage_started_at: datetime | None = None,
) -> RecoveryRun:
    """Create a run of `plan` for `incident` and queue it; refuses (RunRefused) with every reason it cannot start.

    A drill incident runs drills; a real one recovers or fails back. The RTO clock of
    a recovery starts at the outage: `outage_started_at`, else the incident's estimated
    start, detection or declaration, whichever is known first in that order.
    """
    if mode not in Mode.values:
        raise RunRefused(f"Unknown mode {mode!r}.")
    if incident is None:
        # Only a scheduled restore test (incidents.restoretests) runs outside an incident, and only as a drill.
        if mode != Mode.DRILL:
            raise RunRefused("A recovery or failback belongs to an incident.")
    elif not incident.is_open:
        raise RunRefused(
            f"{incident.reference} is {incident.get_status_display().lower()}; runs belong to open incidents."
        )
    if incident is not None and (incident.kind == IncidentKind.DRILL) != (mode == Mode.DRILL):
        raise RunRefused(
            f"{incident.reference} is a drill: its runs are drills."
            if incident.kind == IncidentKind.DRILL
            else f"{incident.reference} is a real incident: start a drill from a drill, not from it."
        )
    now = timezone.now()
    if outage_started_at is not None and outage_started_at > now:
        raise RunRefused("The outage cannot start in the future.")
    if outage_started_at is not None and outage_started_at < now - OUTAGE_LOOKBACK:
        raise RunRefused(
            f"The outage start {outage_started_at.isoformat(sep=' ', timespec='minutes')} is more than a year ago; "
            "check the date (the RTO clock runs from it)."
        )
    if incident is not None:
        outage_started_at = outage_started_at or incident.started_at or incident.detected_at or incident.declared_at
    plan = RecoveryPlan.objects.select_for_update(no_key=True).get(pk=plan.pk)
    run = RecoveryRun(
        plan=plan,
        plan_version=plan.version,
        mode=mode,
        incident=incident,
        requested_by=by,
        created_at=now,
        # A drill's clock starts with the drill; a recovery's with the outage.
        outage_started_at=now if mode == Mode.DRILL else (outage_started_at or now),
    )
    resolution = resolve(plan=plan, mode=mode, run=run)
    if resolution.problems:
        raise RunRefused(" ".join(resolution.problems))
    targets_rto = [a.policy.rto_minutes * 60 for a in resolution.assets if a.policy]
    targets_rpo = [a.policy.rpo_minutes * 60 for a in resolution.assets if a.policy]
    run.rto_target_seconds = min(targets_rto) if targets_rto else None
    run.rpo_target_seconds = min(targets_rpo) if targets_rpo else None
    run.save(force_insert=True)
    run.assets.set(resolution.assets)
    for item in resolution.steps:
        ps = item.plan_step
        step = StepRun(
            run=run,
            plan_step=ps,
            key=ps.key,
            title=ps.title,
            kind=ps.kind,
            asset=ps.asset,
            group=ps.group,
            position=ps.position,
            critical=ps.critical,
            timeout_seconds=ps.timeout_seconds,
            requires_approval=ps.requires_approval,
            approval_role=ps.approval_role,
            approval_quorum=ps.approval_quorum,
            params=ps.params,
            point=item.point,
            target_path=item.target_path,
            target_region=item.target_region,
            target_config=item.target_config,
            bytes_total=item.bytes or None,
        )
        step.params_digest = step_digest(step, run)
        step.save(force_insert=True)
    audit_run(
        "run.requested",
        run,
        actor=by,
        plan=plan.name,
        plan_version=plan.version,
        mode=mode,
        assets=[a.name for a in resolution.assets],
        bytes=resolution.bytes_total,
        forecast_seconds=round(resolution.forecast_seconds),
    )
    _nudge(run)
    return run


def _nudge(run: RecoveryRun) -> None:
    run.dispatched_at = timezone.now()
    run.save(update_fields=["dispatched_at"])
    send_advance(run)


def _acquire(run: RecoveryRun) -> bool:
    """Take every asset of `run`, in the order runs were created; False if one is held or an older run waits."""
    asset_ids = list(run.assets.values_list("pk", flat=True))
    older_waiting = RecoveryRun.objects.filter(status=RunStatus.QUEUED, pk__lt=run.pk, assets__in=asset_ids).exists()
    if older_waiting or RunLock.objects.filter(asset_id__in=asset_ids).exclude(run=run).exists():
        return False
    mine = set(run.locks.values_list("asset_id", flat=True))  # a reopened run may still hold some
    try:
        with transaction.atomic():
            RunLock.objects.bulk_create([RunLock(asset_id=pk, run=run) for pk in sorted(set(asset_ids) - mine)])
    except IntegrityError:
        return False  # another run took one of them a moment ago
    return True


@transaction.atomic
def run_advance(*, run_id: int) -> str:
    """Move a run forward as far as it can go now. Safe to call any number of times."""
    run = RecoveryRun.objects.select_for_update(no_key=True).filter(pk=run_id).first()
    if run is None or not run.is_active:
        return f"run {run_id}: nothing to do"
    now = timezone.now()
    if run.status == RunStatus.QUEUED:
        if not _acquire(run):
            return f"run {run.public_id}: waiting for its assets"
        run.status = RunStatus.RUNNING
        run.started_at = now
        run.save(update_fields=["status", "started_at"])
        audit_run("run.started", run, assets=list(run.assets.values_list("name", flat=True)))
    if run.status == RunStatus.VERIFYING:
        return f"run {run.public_id}: verifying"
    steps = list(run.steps.select_related("asset", "point").order_by("position"))
    failed_critical = next((s for s in steps if s.critical and s.state in STEP_UNSUCCESSFUL), None)
    if failed_critical is not None:
        what = failed_critical.get_state_display().lower()
        _finish(run, RunStatus.FAILED, error=f"Critical step {failed_critical.title} {what}: {failed_critical.error}")
        return f"run {run.public_id}: failed at {failed_critical.key}"
    groups = sorted({s.group for s in steps})
    for group in groups:
        members = [s for s in steps if s.group == group]
        if all(s.state in STEP_FINISHED for s in members):
            continue
        if run.current_group != group:
            run.current_group = group
            run.save(update_fields=["current_group"])
        for step in members:
            if step.state != StepState.PENDING:
                continue
            if step.requires_approval:
                step_request_approval(step=step, run=run, by=run.requested_by)
            else:
                dispatch_step(step)
                audit_step("step.queued", step)
        break
    else:
        run.status = RunStatus.VERIFYING
        run.dispatched_at = timezone.now()  # the verify task renews it while it reads the targets
        run.save(update_fields=["status", "dispatched_at"])
        audit_run("run.verifying", run)
        from incidents.runs.tasks import run_verify

        send_on_commit(run_verify, args=(run.pk,))
        return f"run {run.public_id}: verifying"
    _update_status(run, steps)
    return f"run {run.public_id}: group {run.current_group}, {run.status}"


def _update_status(run: RecoveryRun, steps: list[StepRun]) -> None:
    """running while any step is in flight; waiting_approval while the run can only wait for people."""
    in_flight = any(s.state in STEP_IN_FLIGHT for s in steps)
    waiting = any(s.state == StepState.WAITING_APPROVAL for s in steps)
    status = RunStatus.WAITING_APPROVAL if waiting and not in_flight else RunStatus.RUNNING
    if status != run.status:
        run.status = status
        run.save(update_fields=["status"])
        audit_run("run.waiting_approval" if waiting and not in_flight else "run.resumed", run)


def _finish(run: RecoveryRun, status: str, *, error: str = "", by: User | None = None, reason: str = "") -> None:
    """Mark the run finished; steps still open are cancelled (workers stop at their next checkpoint)."""
    now = timezone.now()
    run.status = status
    run.finished_at = now
    run.error = error
    fields = ["status", "finished_at", "error"]
    if status == RunStatus.CANCELLED:
        run.cancel_reason, run.cancelled_by = reason, by
        fields += ["cancel_reason", "cancelled_by"]
    run.save(update_fields=fields)
    open_steps = run.steps.exclude(state__in=STEP_FINISHED)
    for step in open_steps:
        audit_step("step.cancelled", step, was=step.state)
    open_steps.update(state=StepState.CANCELLED, finished_at=now)
    audit_run(f"run.{status}", run, actor=by, error=error, reason=reason)
    run_drill_outcomes(run)
    send_cleanup(run)


@transaction.atomic
def run_cancel(*, run: RecoveryRun, by: User | None, reason: str) -> RecoveryRun:
    locked = RecoveryRun.objects.select_for_update(no_key=True).get(pk=run.pk)
    if not reason.strip():
        raise RunRefused("Say why the run is cancelled.")
    if not locked.is_active:
        raise RunRefused(f"The run has already {locked.get_status_display().lower()}.")
    _finish(locked, RunStatus.CANCELLED, by=by, reason=reason.strip())
    return locked
