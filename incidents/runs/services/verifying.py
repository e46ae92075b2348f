"""The verifying phase of a run: re-check restores, run golden and route checks, measure, finish, certify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from incidents.runs.certificate.build import certificate_issue
from incidents.runs.golden.runs import run_golden_checks, run_route_rechecks
from incidents.runs.models import STEP_UNSUCCESSFUL, RecoveryRun, RunStatus, StepState
from incidents.runs.services.common import audit_run
from incidents.runs.services.connector_steps import connector_recheck
from incidents.runs.services.runs import _finish
from incidents.runs.waits import run_approval_wait_seconds
from inventory import vault_io
from inventory.models import StepKind
from inventory.services import asset_recovery_record
from inventory.verification.services import RestoreParts


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
        if step.target_config:
            problem = connector_recheck(step)
            if problem:
                problems.append(f"{step.title}: {problem}")
            continue
        try:
            report = vault_io.verify_restored(
                manifest=step.point.manifest, target_dir=Path(step.target_path), progress=alive, vault=step.point.vault
            )
        except vault_io.VaultIOFailure as failure:
            problems.append(f"{step.title}: {failure}")
            continue
        if not report.ok:
            problems.append(f"{step.title}: {report.brief()}")
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
    run = RecoveryRun.objects.select_for_update(no_key=True).get(pk=run_id)
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
    routes_failed = [r for r in (routes or {}).values() if not r["ok"]]
    all_passed = not (partial or golden_failed or routes_failed)
    waited = run_approval_wait_seconds(run)
    for asset in run.assets.select_related("policy"):
        own = [p for p in points if p.asset_id == asset.pk]
        rpo = int((run.outage_started_at - min(p.data_as_of for p in own)).total_seconds()) if own else None
        restore = next((s for s in steps if s.kind == StepKind.RESTORE and s.asset_id == asset.pk and s.point), None)
        asset_recovery_record(
            asset=asset,
            mode=run.mode,
            finished_at=now,
            rto_seconds=run.achieved_rto_seconds,
            rpo_seconds=None if rpo is None else max(0, rpo),
            run_id=run.public_id,
            parts=RestoreParts(
                passed=all_passed,
                bytes_restored=restore.point.size_bytes if restore and restore.point else 0,
                vault_id=restore.point.vault_id if restore and restore.point else None,
                throughput_bps=restore.rate_bps if restore else None,
                approval_wait_seconds=waited,
            ),
        )
    error = "; ".join(
        [f"Golden check of {g['asset']} failed: {g['detail']}" for g in golden_failed]
        + [f"Route of {r['asset']} at the end of the run: {r['detail']}" for r in routes_failed]
    )
    failed_checks = golden_failed or routes_failed
    _finish(run, RunStatus.PARTIALLY_FAILED if partial or failed_checks else RunStatus.SUCCEEDED, error=error)
    certificate_issue(run=run, golden=golden or {}, routes=routes or {})
    return f"run {run.public_id}: {run.status}, RTO {run.achieved_rto_seconds} s"
