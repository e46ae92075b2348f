"""Per-tier step leases and reconciler passes (#11 item 22): a tier-0 step is taken over sooner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from incidents.runs.models import StepRun, StepState
from incidents.runs.services import reconcile as run_reconcile
from incidents.runs.services import run_advance
from incidents.runs.services.lease import lease_seconds
from incidents.runs.services.reconcile import runs_reconcile
from incidents.runs.services.steps import step_claim
from incidents.runs.tasks import reconcile as run_reconcile_task
from tests.runs.conftest import make_plan, start_run

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.django_db


@pytest.fixture
def tier_leases(settings: Any) -> None:
    settings.RUN_STEP_LEASE_SECONDS = 60
    settings.RUN_STEP_LEASE_SECONDS_BY_TIER = {0: 10}


def _running_restore(make_asset: Any, commander: Any, *, name: str, tier: int) -> StepRun:
    asset = make_asset(name, tier=tier)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}], name=f"plan {name}")
    run = start_run(plan=plan, mode="drill", by=commander)
    run_advance(run_id=run.pk)
    step = StepRun.objects.get(run=run, key="restore")
    assert step.state == StepState.QUEUED
    claimed = step_claim(step_id=step.pk, worker="worker-a")
    assert claimed is not None and claimed.attempt == 1
    return claimed


def _silent_for(step: StepRun, seconds: int) -> None:
    StepRun.objects.filter(pk=step.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_a_tier_0_step_uses_the_tier_0_lease(tier_leases, make_asset, commander) -> None:
    urgent = _running_restore(make_asset, commander, name="tier0-model", tier=0)
    other = _running_restore(make_asset, commander, name="tier2-model", tier=2)
    assert lease_seconds(0) == 10 and lease_seconds(2) == 60 and lease_seconds(None) == 60
    # Silent for 5 s: inside every lease, nobody may take either step.
    _silent_for(urgent, 5)
    assert step_claim(step_id=urgent.pk, worker="worker-b") is None
    # Silent for 15 s: past tier 0's lease, inside the default one.
    _silent_for(urgent, 15)
    _silent_for(other, 15)
    assert step_claim(step_id=other.pk, worker="worker-b") is None
    taken = step_claim(step_id=urgent.pk, worker="worker-b")
    assert taken is not None and taken.attempt == 2 and taken.worker == "worker-b"
    # The tier-2 step falls to the default lease.
    _silent_for(other, 61)
    assert step_claim(step_id=other.pk, worker="worker-b") is not None


def test_the_reconciler_resends_a_step_whose_tier_lease_lapsed(tier_leases, make_asset, commander, monkeypatch) -> None:
    urgent = _running_restore(make_asset, commander, name="tier0-model", tier=0)
    other = _running_restore(make_asset, commander, name="tier2-model", tier=2)
    sent: list[int] = []
    monkeypatch.setattr(run_reconcile, "send_step", lambda s, countdown=None: sent.append(s.pk))
    _silent_for(urgent, 15)
    _silent_for(other, 15)
    # The tier-0 pass looks only at tier 0; the full pass measures each step by its own tier.
    assert runs_reconcile(tiers=[2]) == []
    done = runs_reconcile(tiers=[0])
    assert sent == [urgent.pk] and done == [f"re-sent step restore of run {urgent.run.public_id}"]
    sent.clear()
    runs_reconcile()
    assert sent == [urgent.pk]
    # The re-sent message is taken over by the next worker, attempt 2.
    taken = step_claim(step_id=urgent.pk, worker="worker-b")
    assert taken is not None and taken.attempt == 2


def test_a_tier_with_a_shorter_period_gets_its_own_reconciler_pass() -> None:
    # The beat schedule is built from the environment at start-up: build it in a fresh interpreter.
    code = (
        "import json; from dr_portal.settings import schedule as s; "
        "print(json.dumps({k: v for k, v in s.CELERY_BEAT_SCHEDULE.items() if v['task'] == 'runs.reconcile'}))"
    )
    env = {**os.environ, "DEBUG": "true", "RUN_RECONCILE_SECONDS": "30", "RUN_RECONCILE_SECONDS_BY_TIER": "0=5,2=60"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    entries = json.loads(out.stdout)
    assert entries == {
        "runs.reconcile": {"task": "runs.reconcile", "schedule": 30.0},
        "runs.reconcile_tier0": {"task": "runs.reconcile", "schedule": 5.0, "kwargs": {"tiers": [0]}},
    }
    assert run_reconcile_task(tiers=[0]) == "nothing stuck"


def test_a_clean_up_still_at_work_is_not_sent_again(make_asset, commander, monkeypatch, settings) -> None:
    """A drill target of 300,000 Redis keys took minutes to empty; the reconciler sent the clean-up
    again every pass meanwhile, until every restores worker was emptying the same target."""
    settings.RUN_STEP_LEASE_SECONDS = 60
    step = _running_restore(make_asset, commander, name="big-target", tier=2)
    run = step.run
    run.refresh_from_db()
    run.status, run.finished_at = "failed", timezone.now()
    run.save(update_fields=["status", "finished_at"])
    sent: list[str] = []
    monkeypatch.setattr(run_reconcile, "send_now", lambda task, args: sent.append(task.name))
    # A worker started the clean-up a moment ago (it renews dispatched_at while it works).
    type(run).objects.filter(pk=run.pk).update(dispatched_at=timezone.now() - timedelta(seconds=5))
    runs_reconcile()
    assert "runs.cleanup" not in sent
    # Silent for longer than a lease: its worker died, so the clean-up is sent again.
    type(run).objects.filter(pk=run.pk).update(dispatched_at=timezone.now() - timedelta(seconds=90))
    runs_reconcile()
    assert sent.count("runs.cleanup") == 1


def test_a_clean_up_another_worker_holds_is_not_run_twice(make_asset, commander, settings) -> None:
    """The reconciler's re-send can reach a second worker before the first clean-up starts work:
    both emptied the same drill target. The clean-up is claimed; the second finds it taken."""
    from incidents.runs.services.cleanup import run_cleanup_execute

    settings.RUN_STEP_LEASE_SECONDS = 60
    step = _running_restore(make_asset, commander, name="held-target", tier=2)
    run = step.run
    type(step).objects.filter(pk=step.pk).update(worker="", heartbeat_at=None)
    type(run).objects.filter(pk=run.pk).update(status="failed", finished_at=timezone.now())
    # Another worker took the clean-up 5 s ago and is still at it.
    type(run).objects.filter(pk=run.pk).update(cleaning_at=timezone.now() - timedelta(seconds=5))
    assert run_cleanup_execute(run_id=run.pk).endswith("another worker is cleaning it up")
    run.refresh_from_db()
    assert run.cleaned_at is None
    # That worker went silent for longer than a lease: this one takes the clean-up over and finishes it.
    type(run).objects.filter(pk=run.pk).update(cleaning_at=timezone.now() - timedelta(seconds=90))
    assert "cleaned" in run_cleanup_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.cleaned_at is not None
