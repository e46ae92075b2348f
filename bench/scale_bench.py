"""A large estate on PostgreSQL: fill it through the product's bulk paths, then time pages, tasks and workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/drp CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        python -m bench.scale_bench [--quick] [--write docs/benchmarks.md] [--no-workers]

It creates (and drops at the end) its own database, `<name>_bench`, next to
the one DATABASE_URL names, then:

1. imports the estate as one YAML file through `import_file` (10,000 assets,
   about 1.2 dependencies each; `--quick`: a tenth), timed;
2. adds a year of backup history (40 backups and points per asset) with
   `bulk_create`, sets the newest-point pointers and sweeps readiness, both
   through the product's own services; opens 1,000 incidents through
   `incident_declare`; fills the audit log to 1,000,000 events through
   `audit_append_many`, 5,000 of them on one incident's timeline (`--quick`:
   a tenth of each);
3. counts SQL queries per page in-process and times every periodic task
   (each run twice; the second, steady-state run is reported);
4. serves the pages with gunicorn (3 workers) and times them with 1 and with
   20 concurrent clients: p50 / p95 / p99;
5. starts 1, 2 and 4 Celery worker processes on the `backups` queue against
   PostgreSQL and Redis and times real backups of many small assets.

Without PostgreSQL it says so and exits 0, so `make bench` works anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT = int(os.environ.get("SCALE_BENCH_PORT", "18300"))
SECRET = "scale-bench-only-not-a-secret-" + "x" * 30
MARK_START = "<!-- scale-bench:start -->"
MARK_END = "<!-- scale-bench:end -->"


@dataclass
class Sizes:
    assets: int
    history: int  # backups (and points) per asset over a year
    incidents: int
    events: int
    timeline: int
    worker_assets: int
    requests: int  # per page with one client


FULL = Sizes(
    assets=10_000, history=40, incidents=1_000, events=1_000_000, timeline=5_000, worker_assets=120, requests=40
)
# Only enough estate for the worker part (with --no-pages).
TINY = Sizes(assets=40, history=2, incidents=2, events=1_000, timeline=10, worker_assets=40, requests=5)
QUICK = Sizes(assets=1_000, history=40, incidents=100, events=100_000, timeline=500, worker_assets=40, requests=30)


@dataclass
class Results:
    sizes: Sizes
    fill: dict[str, float] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, float] = field(default_factory=dict)
    one: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    twenty: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    workers: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def bench_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def timed(results: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = work()
    results[name] = time.perf_counter() - start
    print(f"  {name}: {results[name]:.2f} s", flush=True)
    return value


# --- 1 and 2: the estate -------------------------------------------------------------------

TEAMS = [f"team-{n}" for n in range(25)]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]
KINDS = ["model", "dataset", "feature_store", "vector_index", "pipeline", "endpoint", "config"]


def estate_yaml(n: int) -> str:
    lines = [
        "vaults:\n  - {name: bench-vault, kind: filesystem, region: eu-west-1, worm_capable: true,"
        " config: {path: bench-vault}}\n",
        "policies:\n",
    ]
    for tier, (rpo, cadence) in enumerate([(60, 30), (240, 120), (1440, 720), (4320, 1440)]):
        lines.append(
            f"  - {{name: tier-{tier}, strategy: cold_standby, rto_minutes: {30 * (tier + 1)},"
            f" rpo_minutes: {rpo}, mtd_minutes: {120 * (tier + 1)}, backup_cadence_minutes: {cadence},"
            f" retention_days: 400, drill_cadence_days: 90}}\n"
        )
    lines.append("assets:\n")
    for i in range(n):
        lines.append(
            f"  - {{name: asset-{i:05d}, kind: {KINDS[i % len(KINDS)]}, owner_team: {TEAMS[i % len(TEAMS)]},"
            f" tier: {i % 4}, region: {REGIONS[i % 3]}, source_uri: /srv/asset-{i:05d},"
            f" policy: tier-{i % 4}, vault: bench-vault}}\n"
        )
    lines.append("dependencies:\n")
    # About 1.2 edges per asset, always from a lower to a higher number: no cycle.
    for i in range(1, n):
        lines.append(f"  - {{upstream: asset-{(i * 7919) % i:05d}, downstream: asset-{i:05d}}}\n")
        if i % 5 == 0:
            lines.append(f"  - {{upstream: asset-{i - 1:05d}, downstream: asset-{i:05d}}}\n")
    return "".join(lines)


def fill(sizes: Sizes, results: Results) -> dict[str, Any]:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from dr_portal.audit.services import EventSpec, audit_append_many
    from incidents.services.lifecycle import incident_declare
    from inventory.models import Asset, Backup, BackupStatus, PointStatus, RecoveryPoint
    from inventory.porting import import_file
    from inventory.services.pointers import points_newest_refresh
    from inventory.services.readiness import readiness_sweep

    User = get_user_model()
    people = {
        role: User.objects.create_user(username=f"bench-{role}", password=None, role=role)
        for role in ("compliance_officer", "incident_commander")
    }
    data = estate_yaml(sizes.assets).encode()
    summary = timed(results.fill, "import", lambda: import_file(name="estate.yaml", data=data, by=None))
    results.notes.append(f"import: {summary}")
    edges = summary.created["dependency"]

    now = timezone.now()
    year = timedelta(days=365)
    step = year / sizes.history

    def history() -> int:
        made = 0
        ids = list(Asset.objects.order_by("pk").values_list("pk", "vault_id"))
        for start in range(0, len(ids), 500):
            backups, points = [], []
            for asset_id, vault_id in ids[start : start + 500]:
                for k in range(sizes.history):
                    # The newest is a few minutes old: the estate is in its steady state.
                    at = now - timedelta(minutes=5 + asset_id % 20) - step * (sizes.history - 1 - k)
                    backups.append(
                        Backup(
                            asset_id=asset_id,
                            vault_id=vault_id,
                            status=BackupStatus.SUCCEEDED,
                            trigger="schedule",
                            created_at=at,
                            started_at=at,
                            finished_at=at + timedelta(minutes=2),
                            bytes_done=1 << 20,
                            bytes_total=1 << 20,
                        )
                    )
            Backup.objects.bulk_create(backups, batch_size=5000)
            for b in backups:
                points.append(
                    RecoveryPoint(
                        asset_id=b.asset_id,
                        vault_id=b.vault_id,
                        backup=b,
                        status=PointStatus.OK,
                        data_as_of=b.created_at,
                        size_bytes=1 << 20,
                        file_count=3,
                        manifest={"format": 2, "files": 3},
                        manifest_sha256="0" * 64,
                        key_id="bench",
                        verified_at=now,
                        created_at=b.created_at,
                    )
                )
            RecoveryPoint.objects.bulk_create(points, batch_size=5000)
            made += len(points)
        return made

    made = timed(results.fill, "history (bulk_create)", history)
    timed(results.fill, "newest-point pointers", lambda: points_newest_refresh())
    timed(results.fill, "readiness sweep (every asset)", readiness_sweep)

    assets = list(Asset.objects.order_by("pk")[: sizes.incidents])

    def incidents() -> list[Any]:
        return [
            incident_declare(
                title=f"Bench incident {n}",
                category="availability",
                by=people["incident_commander"],
                assets=[assets[n % len(assets)]],
            )
            for n in range(sizes.incidents)
        ]

    opened = timed(results.fill, "incidents (incident_declare)", incidents)
    big = opened[0]
    from dr_portal.audit.models import AuditEvent

    def events() -> int:
        timeline = [
            EventSpec(
                action="incident.note_added",
                actor=people["incident_commander"],
                obj=big,
                incident_id=big.public_id,
                payload={"note": f"Step {n}: restore of the feature store checked, rows match the golden set."},
            )
            for n in range(sizes.timeline)
        ]
        audit_append_many(events=timeline, batch_size=5000)
        left = sizes.events - AuditEvent.objects.count()
        batch = 10_000
        while left > 0:
            size = min(batch, left)
            audit_append_many(
                events=[
                    EventSpec(
                        action="backup.completed",
                        system_actor="system:worker",
                        object_type="asset",
                        object_id=str(n % sizes.assets),
                        payload={"bytes": 1 << 20, "files": 3},
                    )
                    for n in range(size)
                ],
                batch_size=5000,
            )
            left -= size
        return AuditEvent.objects.count()

    total = timed(results.fill, "audit events (audit_append_many)", events)
    results.notes.append(
        f"estate: {sizes.assets:,} assets, {edges:,} dependencies, {made:,} backups and as many points, "
        f"{sizes.incidents:,} incidents, {total:,} audit events ({sizes.timeline:,} on one incident)"
    )
    return {"people": people, "incident": big}


# --- 3: queries per page and periodic tasks -----------------------------------------------------


def pages(incident: Any) -> dict[str, str]:
    return {
        "dashboard": "/",
        "inventory": "/inventory/",
        "inventory, sorted by status": "/inventory/?sort=status",
        "readiness": "/inventory/readiness/",
        "incident (timeline)": f"/incidents/{incident.public_id}/",
        "audit": "/audit/",
        "audit, rare action": "/audit/?action=asset.created",
        "audit, system actor": "/audit/?actor=system%3Aimport",
        "runs": "/runs/",
        "API assets": "/api/v1/inventory/assets/",
        "API readiness": "/api/v1/inventory/readiness/",
        "API recovery points": "/api/v1/inventory/recovery-points/",
        "API backups": "/api/v1/inventory/backups/",
        "API incidents": "/api/v1/incidents/",
        "API audit events": "/api/v1/audit/events/",
        "/metrics": "/metrics",
    }


def count_queries(urls: dict[str, str], user: Any, results: Results) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    for name, url in urls.items():
        headers = {"Authorization": "Bearer bench-metrics"} if url == "/metrics" else {}
        client.get(url, headers=headers)
        with CaptureQueriesContext(connection) as captured:
            status = client.get(url, headers=headers).status_code
        if status != 200:
            results.notes.append(f"{name}: HTTP {status} in-process")
        results.queries[name] = len(captured)


def time_tasks(results: Results) -> None:
    from django.db import transaction

    from incidents.services.drills import drills_open_due
    from inventory.services import backups_enqueue_due, points_expire_due, points_verify_due
    from inventory.services.readiness import readiness_sweep

    tasks: dict[str, Callable[[], Any]] = {
        "inventory.backups_schedule": backups_enqueue_due,
        "inventory.points_verify": points_verify_due,
        "inventory.points_expire": points_expire_due,
        "inventory.readiness_sweep": readiness_sweep,
        "incidents.drills_schedule": drills_open_due,
    }
    for name, task in tasks.items():
        for _ in range(2):  # the first run may work out what a migration or the fill left unknown

            def once(task: Callable[[], Any] = task) -> Any:
                with transaction.atomic():
                    return task()

            start = time.perf_counter()
            once()
            results.tasks[name] = time.perf_counter() - start


# --- 4: gunicorn ---------------------------------------------------------------------------


def server_env(db_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "VAR_DIR": str(var_dir),
            "DEBUG": "false",
            "SECRET_KEY": SECRET,  # the same as the bench process's, so its session cookie is valid
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HTTPS": "false",
            "METRICS_TOKEN": "bench-metrics",
            "DATABASE_CONN_MAX_AGE": "60",
        }
    )
    return env


def get(url: str, cookie: str) -> float:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(url)
    headers = {"Cookie": f"sessionid={cookie}"}
    if url.endswith("/metrics"):  # a token elsewhere would be tried as an API token and refused
        headers["Authorization"] = "Bearer bench-metrics"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own local server
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
        response.read()
        if response.status != 200 or response.geturl() != url:
            raise RuntimeError(f"{url}: HTTP {response.status}, {response.geturl()}")
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49] * 1000, cut[94] * 1000, cut[98] * 1000


def serve_and_time(urls: dict[str, str], cookie: str, env: dict[str, str], sizes: Sizes, results: Results) -> None:
    # DEBUG is off, as in production: the pages need the collected, hashed static files.
    env = {**env, "STATIC_ROOT": str(Path(env["VAR_DIR"]) / "static")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    log = open(Path(env["VAR_DIR"]) / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "dr_portal.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "3",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 - our own local server
                break
            except OSError:
                time.sleep(0.2)
        for name, url in urls.items():
            for _ in range(3):
                get(base + url, cookie)
            results.one[name] = percentiles([get(base + url, cookie) for _ in range(sizes.requests)])
            print(f"  1 client  {name}: p50 {results.one[name][0]:.0f} ms, p95 {results.one[name][1]:.0f} ms")
        for name in ("dashboard", "inventory", "readiness", "audit", "API readiness"):
            samples: list[float] = []
            lock = threading.Lock()

            def client(url: str = urls[name], samples: list[float] = samples, lock: threading.Lock = lock) -> None:
                mine = [get(base + url, cookie) for _ in range(5)]
                with lock:
                    samples.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(20)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            p50, p95, p99 = percentiles(samples)
            results.twenty[name] = (p50, p95, p99, len(samples) / wall)
            print(f"  20 clients {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, {len(samples) / wall:.1f} pages/s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()


# --- 5: workers ----------------------------------------------------------------------------


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


# --- the report ----------------------------------------------------------------------------


def report(results: Results, *, quick: bool, machine: str) -> str:
    s = results.sizes
    lines = [
        MARK_START,
        "",
        f"Run: `{'--quick' if quick else 'full size'}`, {machine}.",
        "",
        *[f"- {note}" for note in results.notes],
        "",
        "**Filling the estate** (the product's own bulk paths):",
        "",
        "| step | time |",
        "|---|---:|",
        *[f"| {name} | {sec:.1f} s |" for name, sec in results.fill.items()],
        "",
        f"**Pages** (gunicorn, 3 workers; one client: {s.requests} requests per page after 3 warm-up requests;"
        " queries counted in-process on the same data):",
        "",
        "| page | SQL queries | p50 | p95 | p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (p50, p95, p99) in results.one.items():
        lines.append(f"| {name} | {results.queries.get(name, '—')} | {p50:.0f} ms | {p95:.0f} ms | {p99:.0f} ms |")
    lines += [
        "",
        "**20 concurrent clients** (5 requests each):",
        "",
        "| page | p50 | p95 | p99 | pages/s |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {p50:.0f} ms | {p95:.0f} ms | {p99:.0f} ms | {rate:.1f} |"
            for name, (p50, p95, p99, rate) in results.twenty.items()
        ],
        "",
        "**Periodic tasks** (steady state: the second of two runs, nothing due):",
        "",
        "| task | time |",
        "|---|---:|",
        *[f"| `{name}` | {sec * 1000:.0f} ms |" for name, sec in results.tasks.items()],
    ]
    if results.workers:
        one = results.workers.get(1) or 1.0
        lines += [
            "",
            f"**Scale-out**: {s.worker_assets} small assets (3 files of 16 KiB), one backup each, on the `backups`"
            " queue (PostgreSQL + Redis), worker processes of concurrency 1:",
            "",
            "| worker processes | backups/minute | vs 1 worker |",
            "|---:|---:|---:|",
            *[f"| {n} | {rate:.0f} | {rate / one:.2f} times |" for n, rate in sorted(results.workers.items())],
        ]
    lines += ["", MARK_END]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text()
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## Scale (`scale_bench.py`)\n\n" + section + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the estate")
    parser.add_argument("--no-workers", action="store_true", help="skip the worker scale-out part")
    parser.add_argument("--no-pages", action="store_true", help="skip the gunicorn part")
    parser.add_argument("--tiny", action="store_true", help="a token estate, for the worker part alone")
    parser.add_argument("--write", type=Path, help="replace the scale section of this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the estate a --keep run left (no fill)")
    parser.add_argument("--import-only", type=int, metavar="ASSETS", help="only time an import of this many assets")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("scale_bench: needs DATABASE_URL=postgres://…; skipped.")
        return 0
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    db_url = bench_url(url)
    if not args.reuse:
        recreate_database(db_url)
    var_dir = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "VAR_DIR": str(var_dir),
            "DEBUG": "true",
            "METRICS_TOKEN": "bench-metrics",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    results = Results(sizes=sizes)
    try:
        print("migrating", flush=True)
        call_command("migrate", verbosity=0)
        if args.import_only:
            from inventory.porting import import_file

            data = estate_yaml(args.import_only).encode()
            summary = timed(results.fill, "import", lambda: import_file(name="estate.yaml", data=data, by=None))
            print(f"import of {args.import_only:,} assets: {summary}; load average {os.getloadavg()[0]:.1f}")
            return 0
        if args.reuse:
            from django.contrib.auth import get_user_model

            from incidents.models import Incident

            made: dict[str, Any] = {
                "people": {"compliance_officer": get_user_model().objects.get(username="bench-compliance_officer")},
                "incident": Incident.objects.get(title="Bench incident 0"),
            }
            results.notes.append("estate reused from an earlier --keep run; its fill times are not repeated here")
        else:
            print("filling", flush=True)
            made = fill(sizes, results)
        viewer = made["people"]["compliance_officer"]
        urls = pages(made["incident"])
        print("counting queries and timing periodic tasks", flush=True)
        count_queries(urls, viewer, results)
        time_tasks(results)
        for name, sec in results.tasks.items():
            print(f"  {name}: {sec * 1000:.0f} ms")
        from django.test import Client

        client = Client()
        client.force_login(viewer)
        cookie = client.cookies["sessionid"].value
        env = server_env(db_url, var_dir)
        from django.db import connections

        connections.close_all()
        print("serving with gunicorn", flush=True)
        if not args.no_pages:
            serve_and_time(urls, cookie, env, sizes, results)
        if not args.no_workers:
            print("workers", flush=True)
            time_workers(sizes, env, var_dir, results)
        cpus = os.cpu_count()
        load = os.getloadavg()[0]
        section = report(results, quick=args.quick, machine=f"{cpus} cores, load average {load:.1f} at the end")
        print(section)
        if args.write:
            write_section(args.write, section)
        (var_dir / "results.json").write_text(json.dumps(results.__dict__, default=str))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(db_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
