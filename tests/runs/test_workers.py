"""What only real worker processes show: a killed worker, a broker that was down, cancel, the queue.

Each test runs its own redis-server on a spare port (so it works with either
database) and real `celery worker` processes with the reconciler on beat.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import RUN_FINISHED, RecoveryRun, RunLock, StepRun, StepState
from incidents.runs.services import run_cancel, step_retry
from inventory.engine.target import iter_part_files
from inventory.models import Asset
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.runs.conftest import backed_up, make_plan, start_run
from tests.workers import RedisServer, publishing_to, running_worker, running_worker_with_beat, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]
MiB = 1024 * 1024


def worker_settings(keys: Path, broker: RedisServer, **more: str) -> dict[str, Any]:
    return {
        "CELERY_BROKER_URL": broker.url,
        "VAULT_KEY_FILE": str(keys),
        "VAULT_KEY_ID": "run-key",
        "RUN_PROGRESS_SECONDS": "1",
        "RUN_STEP_LEASE_SECONDS": "3",
        "RUN_RECONCILE_SECONDS": "1",
        **more,
    }


def big_asset(tmp_path: Path, fs_vault, name: str, *, files: int = 4, size: int = 6 * MiB) -> Asset:
    source = tmp_path / "sources" / name
    (source / "shards").mkdir(parents=True)
    for i in range(files):
        (source / "shards" / f"part-{i}.bin").write_bytes(os.urandom(size))
    policy = RecoveryPolicyFactory.create(name=f"policy-{name}", rto_minutes=30, rpo_minutes=60)
    asset = AssetFactory.create(
        name=name, source_uri=str(source), vault=fs_vault, policy=policy, alternate_region="eu-central-1"
    )
    backed_up(asset)
    return asset


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def finished(run: RecoveryRun) -> RecoveryRun | None:
    return RecoveryRun.objects.filter(pk=run.pk, status__in=RUN_FINISHED, cleaned_at__isnull=False).first()


def log_of(name: str) -> str:
    return (settings.VAR_DIR / f"worker-{name}.log").read_text(errors="replace")


def test_killed_worker_mid_restore_is_taken_over_and_the_restore_finishes_correctly(
    tmp_path, keys, fs_vault, broker, commander
) -> None:
    asset = big_asset(tmp_path, fs_vault, "big-model")
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": asset.name, "target": "alternate"},
            {"key": "verify", "kind": "verify", "asset": asset.name, "after": ["restore"]},
        ]
    )
    env = worker_settings(keys, broker)
    with running_worker(name="doomed", RESTORE_MAX_BYTES_PER_SECOND=str(4 * MiB), **env) as doomed:
        run = start_run(plan=plan, mode="recovery", by=commander)
        step = StepRun.objects.get(run=run, key="restore")
        wait_for(
            lambda: StepRun.objects.filter(pk=step.pk, state=StepState.RUNNING, bytes_done__gte=9 * MiB).exists(),
            timeout=60,
            what="the first worker to be well into the restore",
        )
        os.killpg(doomed.pid, signal.SIGKILL)  # the machine dies: no ack, no goodbye
        doomed.wait()
    killed_at = StepRun.objects.get(pk=step.pk)
    assert killed_at.state == StepState.RUNNING and killed_at.attempt == 1
    assert killed_at.bytes_done < (killed_at.bytes_total or 0)
    target = Path(killed_at.target_path)
    with running_worker_with_beat(name="rescuer", **env):
        done = wait_for(lambda: finished(run), timeout=90, what="the second worker to finish the run")
    assert isinstance(done, RecoveryRun)
    assert done.status == "succeeded", (done.error, log_of("rescuer"))
    step.refresh_from_db()
    assert step.attempt == 2 and step.state == StepState.SUCCEEDED
    assert AuditEvent.objects.filter(action="step.taken_over", object_id=str(run.public_id)).count() == 1
    # Resumed file by file: what the first worker had staged and verified was not fetched again.
    assert step.evidence["bytes_restored"] < step.evidence["bytes_total"]
    assert digests(target) == digests(Path(asset.source_uri))
    assert not list(iter_part_files(target))
    assert done.achieved_rto_seconds is not None


def test_run_started_while_the_broker_is_down_waits_and_starts_when_it_is_back(
    tmp_path, keys, fs_vault, commander, client_for
) -> None:
    asset = big_asset(tmp_path, fs_vault, "small-model", files=2, size=MiB)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}])
    broker = RedisServer()  # not started: nothing listens on its port yet
    with publishing_to(broker.url):
        run = start_run(plan=plan, mode="drill", by=commander)  # the message cannot be sent
        run.refresh_from_db()
        assert run.status == "queued"
        page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
        assert "queued, waiting for workers" in page
        broker.start()
        try:
            with running_worker_with_beat(name="after-outage", **worker_settings(keys, broker)):
                done = wait_for(lambda: finished(run), timeout=60, what="the reconciler to dispatch the run")
        finally:
            broker.stop()
    assert isinstance(done, RecoveryRun)
    assert done.status == "succeeded", done.error


def test_cancel_stops_at_the_next_checkpoint_and_leaves_the_drill_target_clean(
    tmp_path, keys, fs_vault, broker, commander
) -> None:
    asset = big_asset(tmp_path, fs_vault, "cancel-model")
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}])
    with running_worker(name="cancel", RESTORE_MAX_BYTES_PER_SECOND=str(4 * MiB), **worker_settings(keys, broker)):
        run = start_run(plan=plan, mode="drill", by=commander)
        step = StepRun.objects.get(run=run)
        wait_for(
            lambda: StepRun.objects.filter(pk=step.pk, bytes_done__gte=3 * MiB).exists(),
            timeout=60,
            what="the restore to be under way",
        )
        run_cancel(run=run, by=commander, reason="drill called off")
        done = wait_for(lambda: finished(run), timeout=30, what="the worker to stop and the target to be cleaned")
        wait_for(lambda: "stopped, no longer ours" in log_of("cancel"), timeout=10, what="the worker to stop")
    assert isinstance(done, RecoveryRun) and done.status == "cancelled"
    step.refresh_from_db()
    assert step.state == StepState.CANCELLED and step.bytes_done < (step.bytes_total or 0)
    drills = settings.VAR_DIR / "drills" / str(run.public_id)
    assert not drills.exists(), list(drills.rglob("*"))


def test_two_runs_on_the_same_asset_never_run_at_once(tmp_path, keys, fs_vault, broker, commander, client_for) -> None:
    asset = big_asset(tmp_path, fs_vault, "shared-model", files=2, size=2 * MiB)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}])
    with running_worker_with_beat(
        name="pair", concurrency=2, RESTORE_MAX_BYTES_PER_SECOND=str(2 * MiB), **worker_settings(keys, broker)
    ):
        first = start_run(plan=plan, mode="drill", by=commander)
        second = start_run(plan=plan, mode="drill", by=commander)
        wait_for(lambda: RecoveryRun.objects.filter(pk=first.pk, status="running").exists(), what="the first run")
        page = client_for(commander).get(f"/runs/{second.public_id}/").content.decode()
        assert "number 2 in line" in page and first.reference in page
        wait_for(lambda: finished(first) and finished(second), timeout=90, what="both runs")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == "succeeded"
    assert first.cleaned_at is not None and second.started_at is not None
    assert second.started_at >= first.cleaned_at, "the second started only once the first gave the asset back"


def test_a_retried_drill_finishes_and_gives_its_asset_to_the_next_run(
    tmp_path, keys, fs_vault, broker, commander, flaky_service
) -> None:
    url, switch = flaky_service
    asset = big_asset(tmp_path, fs_vault, "retried-model", files=2, size=MiB)
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": asset.name},
            {"key": "up", "kind": "smoke", "url": url, "after": ["restore"]},
        ]
    )
    env = worker_settings(keys, broker, CHECK_ALLOWED_NETWORKS="127.0.0.0/8")
    with running_worker_with_beat(name="retried", **env):
        run = start_run(plan=plan, mode="drill", by=commander)
        failed = wait_for(lambda: finished(run), timeout=60, what="the drill to fail and be cleaned up")
        assert isinstance(failed, RecoveryRun)
        assert failed.status == "failed", failed.error
        switch.healthy = True
        step_retry(step=StepRun.objects.get(run=run, key="up"), by=commander)
        after = start_run(plan=plan, mode="drill", by=commander)
        wait_for(lambda: finished(run) and finished(after), timeout=90, what="the retried drill and the next one")
    run.refresh_from_db()
    after.refresh_from_db()
    assert run.status == "succeeded", (run.error, log_of("retried"))
    assert after.status == "succeeded", after.error
    assert after.started_at is not None and run.cleaned_at is not None and after.started_at >= run.cleaned_at
    assert not RunLock.objects.exists()
