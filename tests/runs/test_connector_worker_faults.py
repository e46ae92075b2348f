"""Worker faults during a connector's own work, with real worker processes and a real Redis.

A connector restore (loading keys into Redis, pg_restore, an MLflow load) saves no progress, so
its lease used to lapse while it was still running: the reconciler re-sent the step, a second
worker took it over, and both wrote into the same drill target at once. Here a Redis that holds
every write for longer than the lease (`CLIENT PAUSE … WRITE`) stands in for a long load.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import RUN_FINISHED, RecoveryRun, StepRun, StepState
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.conftest import REDIS_PASSWORD
from tests.runs.conftest import backed_up, make_plan, start_run
from tests.workers import RedisServer, running_worker, running_worker_with_beat, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.servers,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]
PAUSE_SECONDS = 8


def _finished(run: RecoveryRun) -> RecoveryRun | None:
    return RecoveryRun.objects.filter(pk=run.pk, status__in=RUN_FINISHED, cleaned_at__isnull=False).first()


def test_a_connector_restore_longer_than_the_lease_is_not_taken_over_by_a_second_worker(
    tmp_path: Path, keys: Path, fs_vault: Any, broker: RedisServer, redis_port: int, commander: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    live = redis_client.Redis(port=redis_port, db=9, password=REDIS_PASSWORD)
    drill = redis_client.Redis(port=redis_port, db=10, password=REDIS_PASSWORD)
    live.flushdb()
    drill.flushdb()
    for i in range(300):
        live.set(f"feat:{i}", str(i))
    asset = AssetFactory.create(
        name="online-features",
        source_uri=str(tmp_path / "unused"),
        connector="redis",
        connector_config={
            "port": redis_port,
            "db": 9,
            "prefix": "feat:",
            "password": "env:DRP_TEST_REDIS_PASSWORD",
            "drill_db": 10,
        },
        vault=fs_vault,
        policy=RecoveryPolicyFactory.create(name="policy-features", rto_minutes=30, rpo_minutes=60),
    )
    backed_up(asset)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}])
    env: dict[str, Any] = {
        "CELERY_BROKER_URL": broker.url,
        "VAULT_KEY_FILE": str(keys),
        "VAULT_KEY_ID": "run-key",
        "RUN_STEP_LEASE_SECONDS": "2",
        "RUN_RECONCILE_SECONDS": "1",
        "DRP_TEST_REDIS_PASSWORD": REDIS_PASSWORD,
    }
    try:
        with (
            running_worker_with_beat(name="first", **env),
            running_worker(name="second", queues="restores", **env),
        ):
            time.sleep(3)  # both consuming
            # Every write waits: the restore's load into the drill db lasts four leases.
            live.execute_command("CLIENT", "PAUSE", str(PAUSE_SECONDS * 1000), "WRITE")
            run = start_run(plan=plan, mode="drill", by=commander)
            wait_for(lambda: StepRun.objects.filter(run=run, state=StepState.RUNNING).exists(), what="the restore")
            done = wait_for(lambda: _finished(run), timeout=90, what="the drill to finish and be cleaned")
        assert isinstance(done, RecoveryRun)
        step = StepRun.objects.get(run=run)
        takeovers = AuditEvent.objects.filter(action="step.taken_over", object_id=str(run.public_id)).count()
        assert (done.status, step.attempt, takeovers) == ("succeeded", 1, 0), (done.error, step.error)
        assert step.evidence["connector"]["ok"] is True
        assert drill.dbsize() == 0  # the clean-up removed every key the restore wrote
        assert live.dbsize() == 300
    finally:
        live.flushdb()
        drill.flushdb()
