"""The worked breach's recovery run: a real restore of the clinical assets from their vault, with two approvals.

The demo loaders run before the worker starts, so this plays the worker in-process with
the same services its Celery tasks call (back up, advance, execute each queued step,
verify, clean up). Every fact the report prints about it comes from the run itself.
"""

from __future__ import annotations

from django.utils import timezone

from dr_portal.accounts.models import Role, User
from incidents.models import Incident
from incidents.runs.models import RUN_FINISHED, RecoveryRun, RunStatus, StepRun, StepState
from incidents.runs.services import (
    run_advance,
    run_cleanup_execute,
    run_start,
    run_verify_execute,
    step_approve,
    step_execute,
)
from incidents.services import note_add
from inventory.models import Asset, RecoveryPlan
from inventory.services import backup_execute, backup_request, plan_save

PLAN = "Clinical notes rebuild from the vault"
WORKER = "demo-loader"


class DemoRecoveryFailed(RuntimeError):
    """The demo's recovery run did not restore; the worked breach would print a failed run."""


def _plan(assets: list[Asset]) -> RecoveryPlan:
    existing = RecoveryPlan.objects.filter(name=PLAN).first()
    if existing is not None:
        return existing
    steps: list[dict[str, object]] = []
    for asset in sorted(assets, key=lambda a: a.name):
        restore = f"restore-{asset.name}"
        steps.append(
            {
                "key": restore,
                "kind": "restore",
                "asset": asset.name,
                # Overwriting a PHI system is two people's decision.
                "approval": {"role": Role.INCIDENT_COMMANDER, "quorum": 2},
            }
        )
        steps.append({"key": f"verify-{asset.name}", "kind": "verify", "asset": asset.name, "after": [restore]})
    return plan_save(data={"name": PLAN, "steps": steps}, by=None)


def _backed_up(assets: list[Asset]) -> None:
    """The clean copies the rebuild restores from: the first backups `inventory_demo` queued, taken now."""
    for asset in assets:
        outcome = backup_execute(backup_id=backup_request(asset=asset, by=None).pk)

        if "ok" not in outcome and "nothing to do" not in outcome:
            raise DemoRecoveryFailed(f"backup of {asset.name}: {outcome}")


def _drive(run: RecoveryRun, approvers: list[User]) -> RecoveryRun:
    for _ in range(40):
        run.refresh_from_db()
        if run.status in RUN_FINISHED and run.cleaned_at:
            return run
        run_advance(run_id=run.pk)
        for step in StepRun.objects.filter(run=run, state=StepState.WAITING_APPROVAL):
            for person in approvers:
                step_approve(
                    step=step, by=person, comment="Checked the point's manifest and the adapter version it holds."
                )
        for step in StepRun.objects.filter(run=run, state=StepState.QUEUED):
            step_execute(step_id=step.pk, worker=WORKER)
        run.refresh_from_db()
        if run.status == RunStatus.VERIFYING:
            run_verify_execute(run_id=run.pk)
            run.refresh_from_db()
        if run.status in RUN_FINISHED:
            run_cleanup_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def recovery_run_demo(*, incident: Incident, assets: list[Asset], operator: User, approvers: list[User]) -> RecoveryRun:
    """Withdraw the clinical assets, rebuild them from the vault's copies, and check them, as the ops lead."""
    _backed_up(assets)
    plan = _plan(assets)
    withdrawn_at = timezone.now()
    note_add(
        incident=incident,
        body="Adapter and endpoint withdrawn from service to be rebuilt from the vault's clean copies.",
        by=operator,
    )
    incident = Incident.objects.get(pk=incident.pk)  # the caller's copy predates the recorded facts
    if incident.detected_at is None:
        raise DemoRecoveryFailed(f"{incident.reference} has no detection time to measure the rebuild from")
    # The clinics' service came back hours after detection with the cache switched off (the incident's own
    # "service restored"); this rebuild is a second outage of its own, from the withdrawal to the verified
    # rebuild, so that is what its RTO measures, and its RPO compares the restored point with the withdrawal.
    run = run_start(plan=plan, mode="recovery", by=operator, incident=incident, outage_started_at=withdrawn_at)
    run = _drive(run, approvers)
    if run.status != RunStatus.SUCCEEDED:
        raise DemoRecoveryFailed(f"{run.reference} {run.status}: {run.error}")
    return run
