"""Benchmark of the audit log on PostgreSQL; prints the figures docs/benchmarks.md records.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/drp python bench/audit_bench.py --events 1000000

It creates (and afterwards drops) its own database, `<name>_bench`, next to
the one DATABASE_URL names, then:

1. fills the log with --events events through `audit_append_many`;
2. times --appends single `audit_append` calls (one transaction each) with 1
   and with 8 writer processes, against plain ORM INSERTs of the same rows
   into a copy of the table without triggers, lock or hashing (also holding
   --events rows, so index depth is the same);
3. times `verify_log()` over the whole log against a bare streaming SELECT of
   the same rows through the same server-side cursor;
4. measures the peak resident memory of `manage.py audit_verify` on the
   whole log and on its first 10,000 events.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAYLOAD = {
    "asset": "feature-store-eu",
    "bytes_done": 734003200,
    "bytes_total": 1073741824,
    "step": "restore",
    "ok": True,
}


def bench_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def admin_connection(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def django_setup(url: str, checkpoint_dir: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "true")
    os.environ["AUDIT_CHECKPOINT_DIR"] = checkpoint_dir
    # The every-N-events checkpoint goes through the broker; keep the broker out of the figures.
    os.environ["AUDIT_CHECKPOINT_EVERY"] = str(10**12)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    import django

    django.setup()


def plain_model() -> Any:
    from django.db import models

    class PlainEvent(models.Model):
        seq = models.BigAutoField(primary_key=True)
        recorded_at = models.DateTimeField()
        actor_id = models.BigIntegerField(null=True)
        system_actor = models.CharField(max_length=150)
        actor_role = models.CharField(max_length=32)
        action = models.CharField(max_length=100)
        object_type = models.CharField(max_length=100)
        object_id = models.CharField(max_length=64)
        incident_id = models.UUIDField(null=True)
        payload_json = models.TextField()
        personal_digest = models.CharField(max_length=64)
        prev_hash = models.CharField(max_length=64)
        hash = models.CharField(max_length=64)

        class Meta:
            app_label = "audit"
            db_table = "bench_plain"
            managed = False

        def __str__(self) -> str:
            return f"plain #{self.seq}"

    return PlainEvent


def writer(url: str, checkpoint_dir: str, mode: str, count: int, index: int, barrier: Any, results: Any) -> None:
    django_setup(url, checkpoint_dir)
    from django.db import transaction
    from django.utils import timezone

    from dr_portal.audit.chain import canonical_json
    from dr_portal.audit.services import audit_append

    model = plain_model() if mode == "plain" else None
    barrier.wait()
    start = time.perf_counter()
    for n in range(count):
        payload = {**PAYLOAD, "n": n, "writer": index}
        if model is None:
            audit_append(action="restore.progressed", system_actor=f"system:bench{index}", payload=payload)
        else:
            with transaction.atomic():
                model.objects.create(
                    recorded_at=timezone.now(),
                    actor_id=None,
                    system_actor=f"system:bench{index}",
                    actor_role="",
                    action="restore.progressed",
                    object_type="",
                    object_id="",
                    incident_id=None,
                    payload_json=canonical_json(payload),
                    personal_digest="",
                    prev_hash="",
                    hash="",
                )
    results.put((start, time.perf_counter()))


def run_writers(url: str, checkpoint_dir: str, mode: str, writers: int, total: int) -> float:
    """Appends per second across `writers` processes, from the common start to the last finish."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(writers)
    results = ctx.Queue()
    share = total // writers
    processes = [
        ctx.Process(target=writer, args=(url, checkpoint_dir, mode, share, i, barrier, results)) for i in range(writers)
    ]
    for process in processes:
        process.start()
    spans = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a {mode} writer failed")
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return share * writers / (end - start)


def fill(events: int) -> float:
    from dr_portal.accounts.models import Role, User
    from dr_portal.audit.services import EventSpec, audit_append_many

    people = [User.objects.create(username=f"bench{n}", role=Role.ONCALL_ENGINEER) for n in range(20)]
    start = time.perf_counter()
    done = 0
    batch = 5000
    while done < events:
        size = min(batch, events - done)
        specs = []
        for n in range(done, done + size):
            if n % 3 == 0:
                specs.append(EventSpec(action="backup.completed", system_actor="system:worker", payload=PAYLOAD))
            else:
                specs.append(
                    EventSpec(
                        action="step.approved",
                        actor=people[n % len(people)],
                        payload={**PAYLOAD, "n": n, "ip": "192.0.2.10"},
                    )
                )
        audit_append_many(events=specs)
        done += size
        if done % 100_000 == 0:
            print(f"  filled {done:,} events ({done / (time.perf_counter() - start):,.0f}/s)", flush=True)
    return events / (time.perf_counter() - start)


def bare_select_rate() -> tuple[int, float]:
    from django.db import transaction

    from dr_portal.audit import verify
    from dr_portal.audit.chain import HASHED_COLUMNS
    from dr_portal.audit.models import AuditEvent

    fields = [*HASHED_COLUMNS, "hash"]
    start = time.perf_counter()
    rows = 0
    with transaction.atomic():
        for _ in AuditEvent.objects.order_by("seq").values_list(*fields).iterator(chunk_size=verify.CHUNK):
            rows += 1
    return rows, rows / (time.perf_counter() - start)


def verify_rate() -> tuple[int, float, bool]:
    from dr_portal.audit.verify import verify_log

    start = time.perf_counter()
    report = verify_log()
    return report.events_checked, report.events_checked / (time.perf_counter() - start), report.ok


# Peak RSS is read from /proc/self/status (VmHWM) inside the verifying
# process: getrusage() of a forked child would report this benchmark's own
# peak, which Linux carries across fork and exec.
_VERIFY_AND_REPORT_PEAK = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
import django
django.setup()
from django.core.management import call_command
call_command("audit_verify", "--no-record", *sys.argv[1:])
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print("PEAK", int(peak.split()[1]))
"""


def peak_rss_mb(url: str, checkpoint_dir: str, *extra: str) -> tuple[float, int]:
    env = {**os.environ, "DATABASE_URL": url, "AUDIT_CHECKPOINT_DIR": checkpoint_dir}
    done = subprocess.run(
        [sys.executable, "-c", _VERIFY_AND_REPORT_PEAK, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    peaks = [line for line in done.stdout.splitlines() if line.startswith("PEAK ")]
    if done.returncode != 0 or not peaks:
        return 0.0, done.returncode or 1
    return int(peaks[-1].split()[1]) / 1024, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log (default 1,000,000)")
    parser.add_argument("--appends", type=int, default=16_000, help="timed single appends per mode (default 16,000)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers for the second run (default 8)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("audit log benchmark skipped: it needs DATABASE_URL=postgres://… (it creates <name>_bench beside it)")
        return
    target = bench_url(url)
    name = urlsplit(target).path.lstrip("/")
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    checkpoint_dir = tempfile.mkdtemp(prefix="audit-bench-")
    try:
        django_setup(target, checkpoint_dir)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(f"PostgreSQL {version}, {os.cpu_count()} CPUs; database {name}; load average {os.getloadavg()}")
        print(f"Filling the log with {args.events:,} events (audit_append_many, batches of 5,000)…", flush=True)
        fill_rate = fill(args.events)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_plain (LIKE audit_auditevent INCLUDING ALL)")
            cursor.execute("ALTER TABLE bench_plain ALTER seq ADD GENERATED BY DEFAULT AS IDENTITY")
            cursor.execute("INSERT INTO bench_plain SELECT * FROM audit_auditevent")
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('bench_plain', 'seq'), (SELECT max(seq) FROM bench_plain))"
            )
            cursor.execute("VACUUM ANALYZE audit_auditevent")
            cursor.execute("VACUUM ANALYZE bench_plain")
        connection.close()

        figures: dict[str, float] = {}
        for writers in (1, args.writers):
            for mode in ("plain", "chained"):
                rate = run_writers(target, checkpoint_dir, mode, writers, args.appends)
                figures[f"{mode}-{writers}"] = rate
                print(f"  {mode:>7} appends, {writers} writer(s): {rate:,.0f}/s", flush=True)

        rows, select = bare_select_rate()
        checked, verified, ok = verify_rate()
        if not ok:
            raise SystemExit("verify_log found a problem in the benchmark log")
        rss_full, code_full = peak_rss_mb(target, checkpoint_dir)
        rss_small, code_small = peak_rss_mb(target, checkpoint_dir, "--to", "10000")
        if code_full or code_small:
            raise SystemExit("audit_verify did not pass on the benchmark log")

        print()
        print(f"Audit log benchmark: {rows:,} events on PostgreSQL; load average now {os.getloadavg()}")
        print("| measure | audit log | baseline | ratio | goal |")
        print("|---|---:|---:|---:|---:|")
        print(f"| bulk fill (audit_append_many) | {fill_rate:,.0f}/s | | | |")
        for writers in (1, args.writers):
            chained, plain = figures[f"chained-{writers}"], figures[f"plain-{writers}"]
            print(
                f"| append, {writers} writer(s), {args.appends:,} appends | {chained:,.0f}/s "
                f"| {plain:,.0f}/s plain INSERT | {chained / plain:.2f} | ≥ 0.5 |"
            )
        print(
            f"| verify {checked:,} events | {verified:,.0f}/s | {select:,.0f}/s bare SELECT "
            f"| {verified / select:.2f} | ≥ 0.5 |"
        )
        print(
            f"| audit_verify peak RSS, whole log | {rss_full:,.0f} MB | {rss_small:,.0f} MB (first 10,000) | | flat |"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with admin_connection(url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
