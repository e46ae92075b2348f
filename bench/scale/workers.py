"""Scale-out: 1, 2 and 4 Celery worker processes on the backups queue, then on the restores queue, timed on
real backups and real restores of many small assets, with beat and the reconcilers running throughout.

The deployment is the one docs/scaling.md describes: the measured queue has its N workers; one more
worker takes every other queue (`celery`, where beat's housekeeping and the reconcilers run, `reports`,
and the backups or restores queue not being measured), so no queue is left without a consumer; and one
`celery beat` with the project's own schedule sends the periodic tasks all along.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.scale import procs
from bench.scale.common import Results, Sizes

WORKER_COUNTS = (1, 2, 4)
SENT = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*Sending due task (\S+)")


def start_workers(count: int, queues: str, *, tag: str, env: dict[str, str], var_dir: Path) -> list[Any]:
    """`count` worker processes of concurrency 1 consuming `queues`, each with its own hostname."""
    return [
        procs.celery(
            [
                "worker",
                "-Q",
                queues,
                "--concurrency",
                "1",
                "--hostname",
                f"{tag}-{w}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            log=var_dir / f"worker-{tag}-{w}.log",
        )
        for w in range(count)
    ]


def wait_ready(processes: list[subprocess.Popen[bytes]], tag: str, *, timeout: float = 120) -> None:
    """Wait until every worker answers a ping, so the clock starts with all of them consuming."""
    from dr_portal.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p.pid for p in processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) {dead} exited at start; see worker-{tag}-*.log")
        answers = app.control.ping(timeout=1.0) or []
        names = {name for reply in answers for name in reply}
        if sum(1 for name in names if name.startswith(f"{tag}-")) >= len(processes):
            return
    raise RuntimeError(f"{len(processes)} worker(s) {tag}-* did not answer a ping in {timeout:.0f} s")


def bench_env(env: dict[str, str], var_dir: Path) -> dict[str, str]:
    from django.conf import settings

    from inventory.engine.crypto import generate_key_file

    key_file = generate_key_file(var_dir / "keys", key_id="bench-key")
    settings.VAULT_KEY_FILE, settings.VAULT_KEY_ID = key_file, "bench-key"
    return {**env, "VAULT_KEY_FILE": str(key_file), "VAULT_KEY_ID": "bench-key", "BACKUP_PROGRESS_SECONDS": "0"}


def small_assets(sizes: Sizes, var_dir: Path) -> list[Any]:
    from inventory.models import RecoveryPolicy, Vault
    from inventory.services import asset_create

    stamp = int(time.time())  # a --reuse run may find an earlier run's worker assets
    vault = Vault.objects.create(
        name=f"worker-vault-{stamp}", kind="filesystem", region="eu-west-1", config={"path": str(var_dir / "wv")}
    )
    policy = RecoveryPolicy.objects.get(name="tier-3")
    assets = []
    for n in range(sizes.worker_assets):
        source = var_dir / "sources" / f"small-{n}"
        source.mkdir(parents=True)
        assets.append(
            asset_create(
                by=None,
                fields={
                    "name": f"small-{stamp}-{n:04d}",
                    "kind": "dataset",
                    "owner_team": "bench",
                    "tier": 3,
                    "region": "eu-west-1",
                    "source_uri": str(source),
                    "policy": policy,
                    "vault": vault,
                },
            )
        )
    return assets


def time_workers(sizes: Sizes, env: dict[str, str], var_dir: Path, results: Results) -> None:
    import redis
    from django.conf import settings

    from bench.scale.restores import time_restores

    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        results.notes.append("workers: skipped (CELERY_BROKER_URL is not Redis)")
        return
    env = bench_env(env, var_dir)
    assets = small_assets(sizes, var_dir)
    redis.Redis.from_url(broker).delete(*settings.TASK_QUEUE_NAMES)
    beat_log = var_dir / "beat.log"
    beat = procs.celery(
        ["beat", "--schedule", str(var_dir / "beat-schedule"), "--loglevel", "INFO"], env=env, log=beat_log
    )
    with procs.started(beat):
        support = start_workers(1, "celery,reports,restores", tag="support-b", env=env, var_dir=var_dir)
        with procs.started(*support):
            wait_ready(support, "support-b")
            time_backups(assets, env, var_dir, results)
        support = start_workers(1, "celery,reports,backups", tag="support-r", env=env, var_dir=var_dir)
        with procs.started(*support):
            wait_ready(support, "support-r")
            time_restores(assets, env, var_dir, results)
    results.beat_sent = beat_sends(beat_log, results.windows)


def time_backups(assets: list[Any], env: dict[str, str], var_dir: Path, results: Results) -> None:
    from django.utils import timezone

    from inventory.models import Asset, Backup, BackupStatus
    from inventory.services import backup_request

    for count in WORKER_COUNTS:
        for n in range(len(assets)):  # new bytes each round, so no round gains from another's dedup
            for k in range(3):
                (var_dir / "sources" / f"small-{n}" / f"part-{k}.bin").write_bytes(os.urandom(16 * 1024))
        tag = f"backups{count}"
        workers = start_workers(count, "backups", tag=tag, env=env, var_dir=var_dir)
        with procs.started(*workers):
            wait_ready(workers, tag)
            window_start = datetime.now()
            load = os.getloadavg()[0]
            started = timezone.now()
            ids = [backup_request(asset=a, by=None).pk for a in assets]
            deadline = time.monotonic() + 600
            while Backup.objects.filter(pk__in=ids, status__in=[BackupStatus.QUEUED, BackupStatus.RUNNING]).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("backups did not finish in 10 minutes")
                time.sleep(0.2)
            results.windows[f"backups {count}"] = (window_start, datetime.now())
        finished = Backup.objects.filter(pk__in=ids).order_by("-finished_at").values_list("finished_at", flat=True)[0]
        failed = Backup.objects.filter(pk__in=ids, status=BackupStatus.FAILED).count()
        assert finished is not None
        seconds = (finished - started).total_seconds()
        results.workers[count] = len(ids) / seconds * 60
        results.worker_loads[f"backups {count}"] = (load, os.getloadavg()[0])
        print(f"  {count} backups worker(s): {len(ids)} backups in {seconds:.1f} s ({failed} failed)", flush=True)
        if failed:
            results.notes.append(f"workers: {failed} of {len(ids)} backups failed with {count} worker(s)")
        Asset.objects.filter(pk__in=[a.pk for a in assets]).update(next_backup_at=None)


def beat_sends(log: Path, windows: dict[str, tuple[datetime, datetime]]) -> dict[str, dict[str, int]]:
    """Per timed round, how many of each periodic task beat sent while it ran (from beat's own log)."""
    sends: list[tuple[datetime, str]] = []
    for line in log.read_text(errors="replace").splitlines():
        # "[2026-12-01 03:40:00,123: INFO/MainProcess] Scheduler: Sending due task ops.heartbeat (ops.heartbeat)",
        # or the same message in the project's own log format.
        found = SENT.search(line)
        if found:
            sends.append((datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f"), found[2]))
    out: dict[str, dict[str, int]] = {}
    for name, (start, end) in windows.items():
        counts: dict[str, int] = {}
        for when, task in sends:
            if start <= when <= end:
                counts[task] = counts.get(task, 0) + 1
        out[name] = counts
    return out
