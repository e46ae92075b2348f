"""Runs: start, advance group by group, cancel, verify, finish and clean up; the reconciler.

A run is a `RecoveryRun` row moved through
queued → running ⇄ waiting_approval → verifying → succeeded | partially_failed | failed | cancelled
by the services here, always under a lock on the run row. Workers get only ids.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.queue import send_on_commit
from incidents.models import Incident, IncidentKind
from incidents.runs.certificate.build import certificate_issue
from incidents.runs.golden.runs import run_golden_checks, run_route_rechecks
from incidents.runs.models import (
    RUN_FINISHED,
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
    drill_root,
    send_advance,
    send_cleanup,
    step_digest,
)
from inventory import vault_io
from inventory.models import RecoveryPlan, StepKind
from inventory.services import asset_recovery_record

log = logging.getLogger(__name__)


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
    if incident is not None:
        outage_started_at = outage_started_at or incident.started_at or incident.detected_at or incident.declared_at
    plan = RecoveryPlan.objects.select_for_update().get(pk=plan.pk)
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


def _release(run: RecoveryRun) -> list[int]:
    """Give the run's assets back and wake the runs queued behind it; the ids of the assets it held."""
    asset_ids = list(run.locks.values_list("asset_id", flat=True))
    run.locks.all().delete()
    for waiting in RecoveryRun.objects.filter(status=RunStatus.QUEUED, assets__in=asset_ids).distinct():
        send_advance(waiting)
    return asset_ids


@transaction.atomic
def run_advance(*, run_id: int) -> str:
    """Move a run forward as far as it can go now. Safe to call any number of times."""
    run = RecoveryRun.objects.select_for_update().filter(pk=run_id).first()
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
    send_cleanup(run)


@transaction.atomic
def run_cancel(*, run: RecoveryRun, by: User | None, reason: str) -> RecoveryRun:
    locked = RecoveryRun.objects.select_for_update().get(pk=run.pk)
    if not reason.strip():
        raise RunRefused("Say why the run is cancelled.")
    if not locked.is_active:
        raise RunRefused(f"The run has already {locked.get_status_display().lower()}.")
    _finish(locked, RunStatus.CANCELLED, by=by, reason=reason.strip())
    return locked


def _verify_targets(run: RecoveryRun) -> list[str]:
    """Re-hash every restored target that no verify step of the run has checked since."""
    steps = list(run.steps.select_related("asset", "point").order_by("position"))
    verified = {s.asset_id for s in steps if s.kind == StepKind.VERIFY and s.state == StepState.SUCCEEDED}
    problems: list[str] = []

    def alive(done: int, total: int) -> bool:
        # Tells the reconciler this run is being verified, so it does not send a second verifier.
        RecoveryRun.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
        return True

    for step in steps:
        if step.kind != StepKind.RESTORE or step.state != StepState.SUCCEEDED or step.asset_id in verified:
            continue
        assert step.point is not None
        try:
            report = vault_io.verify_restored(
                manifest=step.point.manifest, target_dir=Path(step.target_path), progress=alive, vault=step.point.vault
            )
        except vault_io.VaultIOFailure as failure:
            problems.append(f"{step.title}: {failure}")
            continue
        if not report.ok:
            problems.append(f"{step.title}: {report.summary()}")
    return problems


def run_verify_execute(*, run_id: int) -> str:
    """The verifying phase: confirm every restore, measure RTO/RPO, record them, finish."""
    run = RecoveryRun.objects.filter(pk=run_id, status=RunStatus.VERIFYING).first()
    if run is None:
        return f"run {run_id}: not verifying"
    problems = _verify_targets(run)  # outside the lock: this reads whole trees
    golden = run_golden_checks(run)  # the restored models, run on their golden inputs
    routes = run_route_rechecks(run)  # the switched routes, read again and smoke-checked through
    return _complete(run_id=run_id, problems=problems, golden=golden, routes=routes)


@transaction.atomic
def _complete(
    *,
    run_id: int,
    problems: list[str],
    golden: dict[int, dict[str, Any]] | None = None,
    routes: dict[int, dict[str, Any]] | None = None,
) -> str:
    run = RecoveryRun.objects.select_for_update().get(pk=run_id)
    if run.status != RunStatus.VERIFYING:
        return f"run {run.public_id}: no longer verifying"
    if problems:
        _finish(run, RunStatus.FAILED, error="Final verification failed: " + "; ".join(problems))
        return f"run {run.public_id}: failed verification"
    now = timezone.now()
    steps = list(run.steps.select_related("asset", "point"))
    points = [s.point for s in steps if s.kind == StepKind.RESTORE and s.state == StepState.SUCCEEDED and s.point]
    run.service_verified_at = now
    run.achieved_rto_seconds = max(0, int((now - run.outage_started_at).total_seconds()))
    if points:
        run.data_as_of = min(p.data_as_of for p in points)
        run.achieved_rpo_seconds = max(0, int((run.outage_started_at - run.data_as_of).total_seconds()))
    run.save(update_fields=["service_verified_at", "achieved_rto_seconds", "data_as_of", "achieved_rpo_seconds"])
    partial = any(s.state in (*STEP_UNSUCCESSFUL,) or (s.state == StepState.SKIPPED and s.critical) for s in steps)
    golden_failed = [g for g in (golden or {}).values() if not g["passed"]]
    for result in (golden or {}).values():
        audit_run("run.golden_checked", run, asset=result["asset"], passed=result["passed"], detail=result["detail"])
    for asset in run.assets.select_related("policy"):
        own = [p for p in points if p.asset_id == asset.pk]
        rpo = int((run.outage_started_at - min(p.data_as_of for p in own)).total_seconds()) if own else None
        asset_recovery_record(
            asset=asset,
            mode=run.mode,
            finished_at=now,
            rto_seconds=run.achieved_rto_seconds,
            rpo_seconds=None if rpo is None else max(0, rpo),
            run_id=run.public_id,
        )
    routes_failed = [r for r in (routes or {}).values() if not r["ok"]]
    error = "; ".join(
        [f"Golden check of {g['asset']} failed: {g['detail']}" for g in golden_failed]
        + [f"Route of {r['asset']} at the end of the run: {r['detail']}" for r in routes_failed]
    )
    failed_checks = golden_failed or routes_failed
    _finish(run, RunStatus.PARTIALLY_FAILED if partial or failed_checks else RunStatus.SUCCEEDED, error=error)
    certificate_issue(run=run, golden=golden or {}, routes=routes or {})
    return f"run {run.public_id}: {run.status}, RTO {run.achieved_rto_seconds} s"


def _lease() -> timedelta:
    return timedelta(seconds=settings.RUN_STEP_LEASE_SECONDS)


def run_cleanup_execute(*, run_id: int) -> str:
    """After a run ends: remove drill targets, give the assets back. Waits for workers to let go first."""
    run = RecoveryRun.objects.filter(pk=run_id, status__in=RUN_FINISHED, cleaned_at__isnull=True).first()
    if run is None:
        return f"run {run_id}: nothing to clean"
    live = run.steps.exclude(worker="").filter(heartbeat_at__gte=timezone.now() - _lease())
    if live.exists():
        send_cleanup(run, countdown=1)  # a worker is still stopping; look again shortly
        return f"run {run.public_id}: waiting for workers to stop"
    removed = 0
    kept: list[str] = []
    if run.mode == Mode.DRILL:
        for step in run.steps.filter(kind=StepKind.RESTORE, point__isnull=False).select_related("point__vault"):
            assert step.point is not None
            try:
                outcome = vault_io.cleanup_restored(
                    manifest=step.point.manifest, target_dir=Path(step.target_path), vault=step.point.vault
                )
            except vault_io.VaultIOFailure as failure:
                kept.append(f"{step.target_path}: {failure}")
                continue
            removed += outcome.removed_files
            kept += [f"{step.target_path}/{k}" for k in outcome.kept]
        root = drill_root(run)
        if root.is_dir():
            try:
                root.rmdir()
            except OSError:
                kept.append(str(root))
    else:
        for step in run.steps.filter(kind=StepKind.RESTORE).exclude(state=StepState.SUCCEEDED):
            removed += vault_io.discard_parts(target_dir=Path(step.target_path))
    return _cleaned(run_id=run_id, removed=removed, kept=kept)


@transaction.atomic
def _cleaned(*, run_id: int, removed: int, kept: list[str]) -> str:
    run = RecoveryRun.objects.select_for_update().get(pk=run_id)
    if run.cleaned_at is not None:
        return f"run {run.public_id}: already clean"
    if run.status not in RUN_FINISHED:
        return f"run {run.public_id}: running again, not cleaned"
    run.cleaned_at = timezone.now()
    run.save(update_fields=["cleaned_at"])
    _release(run)
    audit_run("run.cleaned_up", run, files_removed=removed, kept=kept[:20])
    return f"run {run.public_id}: cleaned ({removed} files removed)"


def run_locks_release_finished() -> list[str]:
    """Free assets still held by runs that ended and were cleaned up (a lost release, or older code).

    Finished runs not yet cleaned keep their locks: their clean-up, which the
    reconciler re-sends, releases them once the drill targets are gone.
    """
    held = RecoveryRun.objects.filter(status__in=RUN_FINISHED, cleaned_at__isnull=False, locks__isnull=False)
    return [line for pk in held.distinct().values_list("pk", flat=True) if (line := _release_held(run_id=pk))]


@transaction.atomic
def _release_held(*, run_id: int) -> str:
    run = RecoveryRun.objects.select_for_update().get(pk=run_id)
    if run.status not in RUN_FINISHED or run.cleaned_at is None:
        return ""
    names = list(run.locks.order_by("asset__name").values_list("asset__name", flat=True))
    if not _release(run):
        return ""
    audit_run("run.locks_released", run, assets=names, reason="the run had ended and was cleaned up")
    return f"released {len(names)} assets held by finished run {run.public_id}"
