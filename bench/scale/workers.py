"""Scale-out: 1, 2 and 4 Celery worker processes on the backups queue, timed on real backups of small assets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.scale.common import ROOT, Results, Sizes


def time_workers(sizes: Sizes, env: dict[str, str], var_dir: Path, results: Results) -> None:
    import redis
    from django.conf import settings
    from django.utils import timezone

    from inventory.engine.crypto import generate_key_file
    from inventory.models import Asset, Backup, BackupStatus, RecoveryPolicy, Vault
    from inventory.services import asset_create, backup_request

    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        results.notes.append("workers: skipped (CELERY_BROKER_URL is not Redis)")
        return
    key_file = generate_key_file(var_dir / "keys", key_id="bench-key")
    env = {**env, "VAULT_KEY_FILE": str(key_file), "VAULT_KEY_ID": "bench-key", "BACKUP_PROGRESS_SECONDS": "0"}
    settings.VAULT_KEY_FILE, settings.VAULT_KEY_ID = key_file, "bench-key"
    stamp = int(time.time())  # a --reuse run may find an earlier run's worker assets
    vault = Vault.objects.create(
        name=f"worker-vault-{stamp}", kind="filesystem", region="eu-west-1", config={"path": str(var_dir / "wv")}
    )
    policy = RecoveryPolicy.objects.get(name="tier-3")
    assets = []
    for n in range(sizes.worker_assets):
        source = var_dir / "sources" / f"small-{n}"
        source.mkdir(parents=True)
        for k in range(3):
            (source / f"part-{k}.bin").write_bytes(os.urandom(16 * 1024))
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
    queue = redis.Redis.from_url(broker)
    for count in (1, 2, 4):
        queue.delete(*settings.TASK_QUEUE_NAMES)
        for n in range(len(assets)):  # new bytes each round, so no round gains from another's dedup
            for k in range(3):
                (var_dir / "sources" / f"small-{n}" / f"part-{k}.bin").write_bytes(os.urandom(16 * 1024))
        processes = []
        for w in range(count):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "dr_portal.worker",
                        "worker",
                        "-Q",
                        "backups",
                        "--concurrency",
                        "1",
                        "--hostname",
                        f"bench{count}-{w}@%h",
                        "--without-mingle",
                        "--without-gossip",
                        "--loglevel",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(var_dir / f"worker-{count}-{w}.log", "wb"),  # noqa: SIM115
                    start_new_session=True,
                )
            )
        try:
            time.sleep(4)  # let the processes connect before the clock starts
            started = timezone.now()
            backups = [backup_request(asset=a, by=None) for a in assets]
            ids = [b.pk for b in backups]
            deadline = time.monotonic() + 600
            while Backup.objects.filter(pk__in=ids, status__in=[BackupStatus.QUEUED, BackupStatus.RUNNING]).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("backups did not finish in 10 minutes")
                time.sleep(0.2)
            finished = (
                Backup.objects.filter(pk__in=ids).order_by("-finished_at").values_list("finished_at", flat=True)[0]
            )
            failed = Backup.objects.filter(pk__in=ids, status=BackupStatus.FAILED).count()
            assert finished is not None
            seconds = (finished - started).total_seconds()
            results.workers[count] = len(ids) / seconds * 60
            print(f"  {count} worker(s): {len(ids)} backups in {seconds:.1f} s ({failed} failed)", flush=True)
            if failed:
                results.notes.append(f"workers: {failed} of {len(ids)} backups failed with {count} worker(s)")
        finally:
            for p in processes:
                os.killpg(p.pid, signal.SIGTERM)
            for p in processes:
                p.wait(timeout=30)
        Asset.objects.filter(pk__in=[a.pk for a in assets]).update(next_backup_at=None)
