"""Recovery-run benchmarks: restore throughput through a run step, and approval-to-running latency.

Usage:  DEBUG=true python -m bench.restore_bench [--size-mib 1024] [--approvals 50]

Everything happens in a throw-away folder with its own SQLite database (or the
PostgreSQL database in DATABASE_URL, whose tables it creates with migrate):

The engine's own restore figures are in bench/backup_bench.py; this one adds what a
run puts around the engine, and reuses that benchmark's tree and baseline.

1. Restore. Builds a tree of random files (a few large, some medium, many small),
   backs it up with the real backup service (AES-256-GCM into a filesystem vault),
   then restores it through a drill run's restore step exactly as a worker does
   (`step_execute`: claim, progress saved to the database, decrypt, SHA-256 of every
   file, fsync, rename). The baseline, timed in the same run over the same vault
   files, is `cat <vault files> | openssl dgst -sha256`. Also reported: the engine's
   `restore_tree` alone, to show what the run machinery adds.
2. Approval latency. Starts a private redis-server and a real Celery worker, starts a
   run whose N steps each need one approval, approves them one after another and
   measures from the approval's commit to the moment a worker has claimed the step
   (its `attempt_started_at`, stamped by the database).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The engine benchmark's tree and baseline, so both benchmarks measure the same thing.
from bench.backup_bench import build_tree, pipe_to_sha256  # noqa: E402

MiB = 1024 * 1024
WORKER_ARGS = ["--concurrency", "2", "--loglevel", "WARNING", "--without-mingle", "--without-gossip", "-n", "bench@%h"]


def setup_django(workdir: Path) -> None:
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["VAULT_KEY_FILE"] = str(workdir / "keys" / "vault-keys")
    os.environ["VAULT_KEY_ID"] = "bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    from inventory.engine import generate_key_file

    generate_key_file(workdir / "keys", key_id="bench")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def people() -> tuple[Any, Any]:
    from dr_portal.accounts.models import Role, User

    commander, _ = User.objects.get_or_create(username="bench-commander", defaults={"role": Role.INCIDENT_COMMANDER})
    approver, _ = User.objects.get_or_create(
        username="bench-oncall", defaults={"role": Role.ONCALL_ENGINEER, "email": ""}
    )
    return commander, approver


def an_incident(kind: str, by: Any) -> Any:
    from incidents.models import Incident

    return Incident.objects.create(
        kind=kind,
        title=f"bench {kind}",
        severity="SEV3",
        severity_rule="bench",
        category="availability",
        declared_by=by,
    )


def restore_bench(workdir: Path, size: int, repeat: int) -> dict[str, Any]:
    from django.conf import settings

    from incidents.runs.models import StepRun
    from incidents.runs.services import (
        run_advance,
        run_cleanup_execute,
        run_start,
        run_verify_execute,
        step_execute,
    )
    from inventory import engine
    from inventory.models import Asset, RecoveryPoint, Vault
    from inventory.services import backup_execute, backup_request, plan_save, policy_default_for_tier

    source = workdir / "source"
    print(f"building a {size // MiB} MiB tree ...", flush=True)
    files, written = build_tree(source, size)
    vault = Vault.objects.create(
        name="bench-vault", kind="filesystem", region="eu-west-1", config={"path": str(workdir / "vault")}
    )
    commander, _ = people()
    # One asset (and point) per repetition, so no repetition deletes what an earlier one wrote:
    # removing gigabytes between runs slows the next run's file creation on some file systems
    # (see the engine benchmark), which would be charged to the restore being timed.
    plans, points = [], []
    for rep in range(repeat):
        asset = Asset.objects.create(
            name=f"bench-model-{rep}", kind="model", owner_team="bench", tier=1, region="eu-west-1",
            source_uri=str(source), policy=policy_default_for_tier(tier=1), vault=vault,
        )  # fmt: skip
        started = time.perf_counter()
        backup = backup_request(asset=asset, by=None)
        print(" ", backup_execute(backup_id=backup.pk), f"in {time.perf_counter() - started:.1f} s", flush=True)
        points.append(RecoveryPoint.objects.get(backup=backup))
        one_step = [{"key": "restore", "kind": "restore", "asset": asset.name}]
        plans.append(plan_save(data={"name": f"bench restore {rep}", "steps": one_step}, by=None))
    # Small files may share one stored object (the engine packs them); each object is read once.
    vault_files = sorted({str(workdir / "vault" / f["object"]) for f in points[0].manifest["files"]})
    stored = sum(Path(p).stat().st_size for p in vault_files)
    objects = "\0".join(vault_files).encode()

    def cat_sha256() -> float:
        return pipe_to_sha256(["xargs", "-0", "cat"], stdin_data=objects)

    rows: dict[str, list[float]] = {"cat_sha256": [], "run_step": [], "engine": []}
    runs = []
    cat_sha256()  # warm the page cache for both sides
    for rep in range(repeat):
        # Each timing starts with no dirty pages left by the one before: restores fsync what they
        # write, so leftover writeback from a previous repetition would be charged to the next.
        os.sync()
        rows["cat_sha256"].append(cat_sha256())
        os.sync()
        run = run_start(plan=plans[rep], mode="drill", by=commander, incident=an_incident("drill", commander))
        run_advance(run_id=run.pk)
        step = StepRun.objects.get(run=run)
        began = time.perf_counter()
        outcome = step_execute(step_id=step.pk, worker="bench")
        rows["run_step"].append(time.perf_counter() - began)
        step.refresh_from_db()
        if step.state != "succeeded" or not step.evidence.get("all_hashes_verified"):
            raise SystemExit(f"restore step did not verify: {outcome} {step.error}")
        runs.append(run)
        target = workdir / f"engine-{rep}"
        os.sync()
        began = time.perf_counter()
        engine.restore_tree(
            vault=engine.FilesystemVault(workdir / "vault"),
            manifest=engine.Manifest.from_json(points[rep].manifest),
            target_dir=target,
            keyring=engine.KeyRing.load(key_file=settings.VAULT_KEY_FILE),
        )
        rows["engine"].append(time.perf_counter() - began)
        print(
            f"  run {rep + 1}/{repeat}: cat|openssl-sha256 {rows['cat_sha256'][-1]:.2f} s, run step "
            f"{rows['run_step'][-1]:.2f} s, engine alone {rows['engine'][-1]:.2f} s",
            flush=True,
        )
    for run in runs:  # finish each run as a worker would: final verification, drill clean-up
        run_advance(run_id=run.pk)
        run_verify_execute(run_id=run.pk)
        run_cleanup_execute(run_id=run.pk)
    median = {k: statistics.median(v) for k, v in rows.items()}
    return {
        "files": files,
        "bytes": written,
        "stored_bytes": stored,
        "seconds": median,
        "mib_per_s": {k: written / MiB / v for k, v in median.items()},
        "ratio_run_step": median["cat_sha256"] / median["run_step"],
        "ratio_engine": median["cat_sha256"] / median["engine"],
    }


def latency_bench(workdir: Path, approvals: int) -> dict[str, Any]:
    from django.db import connection

    from dr_portal.celery import app
    from incidents.runs.models import StepRun
    from incidents.runs.services import run_start, step_approve
    from inventory.services import plan_save

    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        return {"skipped": "redis-server is not installed"}
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broker = f"redis://127.0.0.1:{port}/0"
    redis = subprocess.Popen(
        [redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    db = connection.settings_dict
    url = os.environ["DATABASE_URL"] if db["ENGINE"].endswith("postgresql") else f"sqlite:///{db['NAME']}"
    env = {**os.environ, "CELERY_BROKER_URL": broker, "DATABASE_URL": url, "RUN_RECONCILE_SECONDS": "30"}
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dr_portal.worker", "worker", *WORKER_ARGS],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    celery: Any = app
    celery._after_fork()  # publish to the private broker from here on
    celery.conf.broker_url = broker
    celery.conf.broker_write_url = broker
    os.environ["CELERY_BROKER_URL"] = broker
    try:
        time.sleep(4)  # let the worker connect
        commander, approver = people()
        steps = [
            {
                "key": f"step-{i:02d}",
                "kind": "notify",
                "message": "bench",
                "approval": {"role": "oncall_engineer", "quorum": 1},
            }
            for i in range(approvals)
        ]
        plan = plan_save(data={"name": "bench approvals", "steps": steps}, by=None)
        run = run_start(plan=plan, mode="recovery", by=commander, incident=an_incident("real", commander))
        deadline = time.monotonic() + 30
        while StepRun.objects.filter(run=run, state="waiting_approval").count() < approvals:
            if time.monotonic() > deadline:
                raise SystemExit("the worker never put the steps up for approval; see worker.log")
            time.sleep(0.05)
        latencies: list[float] = []
        for step in StepRun.objects.filter(run=run).order_by("position"):
            committed = time.time()  # the click: the approval's transaction, its commit and the message
            step_approve(step=step, by=approver, comment="bench")
            while True:
                claimed = StepRun.objects.filter(pk=step.pk).values_list("attempt_started_at", flat=True).first()
                if claimed is not None:
                    break
                if time.time() - committed > 30:
                    raise SystemExit(f"step {step.key} was never picked up")
                time.sleep(0.002)
            latencies.append(max(0.0, claimed.timestamp() - committed))
        latencies.sort()
        return {
            "approvals": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[max(0, round(0.95 * len(latencies)) - 1)],
            "max_ms": 1000 * latencies[-1],
            "database": db["ENGINE"].rsplit(".", 1)[-1],
        }
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()
        redis.terminate()
        redis.wait(timeout=10)


def machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    return {"python": platform.python_version(), "cpu": cpu, "cpus": str(os.cpu_count())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--approvals", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="drp-restore-bench-") as tmp:
        workdir = Path(tmp)
        setup_django(workdir)
        restore = restore_bench(workdir, args.size_mib * MiB, args.repeat)
        print(
            f"restore of {restore['bytes'] / MiB:.0f} MiB in {restore['files']} files: "
            f"run step {restore['mib_per_s']['run_step']:.0f} MiB/s, "
            f"engine alone {restore['mib_per_s']['engine']:.0f} MiB/s, "
            f"cat|openssl-sha256 {restore['mib_per_s']['cat_sha256']:.0f} MiB/s"
        )
        goal = "meets" if restore["ratio_run_step"] >= 0.6 else "MISSES"
        print(f"ratio (run step / cat|openssl-sha256): {restore['ratio_run_step']:.2f} ({goal} the 0.6 goal)")
        latency = latency_bench(workdir, args.approvals)
        if "skipped" in latency:
            print("approval latency skipped:", latency["skipped"])
        else:
            goal = "meets" if latency["p95_ms"] < 1000 else "MISSES"
            print(
                f"approval -> step running over {latency['approvals']} approvals ({latency['database']}): "
                f"p50 {latency['p50_ms']:.0f} ms, p95 {latency['p95_ms']:.0f} ms, "
                f"max {latency['max_ms']:.0f} ms ({goal} p95 < 1 s)"
            )
        print(json.dumps({"machine": machine(), "restore": restore, "approval_latency": latency}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
