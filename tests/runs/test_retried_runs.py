"""A failed run that a person retries: it takes its assets again, redoes what clean-up removed, and gives them back."""

from __future__ import annotations

import pytest

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import RunLock, RunStatus, StepState
from incidents.runs.services import runs_reconcile, step_retry
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db


def test_a_retried_drill_redoes_its_restore_passes_and_releases_its_assets(
    model, commander, flaky_service, settings
) -> None:
    url, switch = flaky_service
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "up", "kind": "smoke", "url": url, "after": ["restore"]},
        ]
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    assert run.status == RunStatus.FAILED and run.cleaned_at is not None
    assert not RunLock.objects.exists()

    switch.healthy = True
    step_retry(step=run.steps.get(key="up"), by=commander)
    run = drive(run)

    # Clean-up removed the drill target, so the restore had to run again for the final check to pass.
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps.get(key="restore").attempt == 2
    assert run.cleaned_at is not None
    assert not RunLock.objects.exists(), "the retried run kept its assets"
    assert AuditEvent.objects.filter(action="run.cleaned_up", object_id=str(run.public_id)).count() == 2
    # The next run on the asset is not stuck behind it.
    assert drive(start_run(plan=plan, mode="drill", by=commander)).status == RunStatus.SUCCEEDED


def test_a_retried_recovery_run_releases_its_assets_when_it_ends_again(model, commander, flaky_service) -> None:
    url, _ = flaky_service
    plan = make_plan([{"key": "up", "kind": "smoke", "url": url, "asset": model.name}])
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert run.status == RunStatus.FAILED
    step_retry(step=run.steps.get(), by=commander)  # still down: it fails a second time
    run = drive(run)
    assert run.status == RunStatus.FAILED and run.steps.get().attempt == 2
    assert not RunLock.objects.exists(), "the run failed twice and still holds its asset"


def test_the_reconciler_frees_locks_that_finished_runs_still_hold(model, commander, flaky_service) -> None:
    url, _ = flaky_service
    plan = make_plan([{"key": "up", "kind": "smoke", "url": url, "asset": model.name}])
    stuck = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert stuck.status == RunStatus.FAILED and stuck.cleaned_at is not None
    # What older code left behind: a finished, cleaned run still holding its asset.
    RunLock.objects.create(run=stuck, asset=model)
    waiting = start_run(plan=plan, mode="recovery", by=commander)
    assert drive(waiting, rounds=3).status == RunStatus.QUEUED

    done = runs_reconcile()

    assert not RunLock.objects.filter(run=stuck).exists()
    assert any("released" in line for line in done), done
    assert AuditEvent.objects.filter(action="run.locks_released", object_id=str(stuck.public_id)).exists()
    assert drive(waiting).steps.get().state == StepState.FAILED  # it ran (and met the same broken service)
