"""Ten recovery runs started at once, with backups beside them, on PostgreSQL with real workers (#11 item 17).

The fault drill this repeats found deadlocks in normal use: `POST /api/v1/runs/`
answering 500, backups stalling, and step claims that committed while their start
event rolled back. PostgreSQL counts every deadlock it breaks
(`pg_stat_database.deadlocks`), so the test reads that counter around the work:
it must not move. The lock order it protects is in docs/runs.md ("Lock order").

SQLite has one writer at a time and no deadlocks to find, so the test runs only
on PostgreSQL (`DATABASE_URL=postgres://…`).
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.verify import verify_log
from incidents.runs.models import RUN_FINISHED, RecoveryRun, RunLock, StepRun
from inventory.models import Asset, Backup, RecoveryPlan
from tests.factories import IncidentFactory
from tests.runs.conftest import make_plan
from tests.runs.test_workers import MiB, big_asset, worker_settings
from tests.workers import RedisServer, running_worker, running_worker_with_beat, wait_for

ON_POSTGRES = str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.skipif(not ON_POSTGRES, reason="deadlocks are PostgreSQL's: run with DATABASE_URL=postgres://…"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

RUNS = 10


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    return int(count)


def at_once(calls: list[Any]) -> list[Any]:
    """Run each call in its own thread, released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = calls[i]()
        except BaseException as exc:  # reported by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def plans(assets: list[Asset]) -> list[RecoveryPlan]:
    """Ten plans over five assets in one vault: each asset is wanted by several runs at once."""
    out = []
    for i in range(RUNS):
        first, second = assets[i % len(assets)], assets[(i + 1) % len(assets)]
        out.append(
            make_plan(
                [
                    {"key": "restore-a", "kind": "restore", "asset": first.name},
                    {"key": "restore-b", "kind": "restore", "asset": second.name},
                    {"key": "verify-a", "kind": "verify", "asset": first.name, "after": ["restore-a"]},
                ],
                name=f"concurrent plan {i}",
            )
        )
    return out


def test_ten_runs_at_once_finish_without_a_deadlock_or_a_lost_update(
    tmp_path: Path, keys: Path, fs_vault: Any, broker: RedisServer, commander: Any, client_for: Any
) -> None:
    assets = [big_asset(tmp_path, fs_vault, f"model-{i}", files=3, size=MiB // 2) for i in range(5)]
    drills = [IncidentFactory.create(kind="drill") for _ in range(RUNS)]
    clients = [client_for(commander) for _ in range(RUNS + len(assets))]
    env = worker_settings(keys, broker)
    before = deadlocks()
    with (
        running_worker_with_beat(name="busy-1", concurrency=2, **env),
        running_worker(name="busy-2", concurrency=2, **env),
    ):

        def start(client: Client, plan: RecoveryPlan, drill: Any) -> int:
            body = {"plan": str(plan.public_id), "mode": "drill", "incident": str(drill.public_id)}
            return client.post("/api/v1/runs/", body, content_type="application/json").status_code

        def backup(client: Client, asset: Asset) -> int:
            return client.post(f"/api/v1/inventory/assets/{asset.public_id}/backup/").status_code

        calls: list[Any] = [
            (lambda c=c, p=p, d=d: start(c, p, d)) for c, p, d in zip(clients, plans(assets), drills, strict=False)
        ]
        calls += [(lambda c=c, a=a: backup(c, a)) for c, a in zip(clients[RUNS:], assets, strict=True)]
        answers = at_once(calls)
        assert answers == [201] * RUNS + [202] * len(assets), answers
        runs = list(RecoveryRun.objects.filter(incident__in=drills))
        assert len(runs) == RUNS

        def all_done() -> bool:
            finished = RecoveryRun.objects.filter(pk__in=[r.pk for r in runs], status__in=RUN_FINISHED)
            settled = finished.filter(cleaned_at__isnull=False).count() == RUNS
            return settled and not Backup.objects.filter(status__in=["queued", "running"]).exists()

        wait_for(all_done, timeout=600, what="every run and backup to finish")

    logs = "".join((settings.VAR_DIR / f"worker-{n}.log").read_text(errors="replace") for n in ("busy-1", "busy-2"))
    assert deadlocks() == before, "PostgreSQL broke a deadlock during the work"
    assert "deadlock detected" not in logs
    statuses = Counter(RecoveryRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True))
    assert statuses == {"succeeded": RUNS}, (statuses, [r.error for r in RecoveryRun.objects.exclude(error="")])
    assert not Backup.objects.exclude(status="succeeded").exists()
    assert not RunLock.objects.exists(), "every finished run gave its assets back"
    # No lost update: each attempt of each step has exactly one start event (or take-over) in the log.
    for step in StepRun.objects.filter(run__in=runs):
        starts = AuditEvent.objects.filter(
            action__in=["step.started", "step.taken_over"], object_id=str(step.run.public_id)
        ).payload_matches(step=step.key)
        assert starts.count() == step.attempt >= 1, (step.run.reference, step.key, step.attempt, starts.count())
    report = verify_log()
    assert report.ok, report
