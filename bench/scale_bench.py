"""A large estate on PostgreSQL: fill it through the product's bulk paths, then time pages, tasks and workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/drp CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        python -m bench.scale_bench [--quick | --full | --scale F] [--write docs/benchmarks.md] [--no-workers]

Sizes: `--quick` (the default) is a tenth of the full estate; `--full` is the
whole of it (10,000 assets, 1,000,000 events: hours on a shared 2-core
machine); `--scale F` is the fraction F of it (history per asset stays a
year). `--import-only N` times only an import of N assets as YAML and as CSV.

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
   20 concurrent clients: p50 / p95 / p99; then 20 clients on a few pages
   against gunicorn with 1 and with 3 workers (p50 / p95, pages/s);
5. starts `celery beat` (the project's schedule) and one worker on every queue
   but the measured one, then 1, 2 and 4 Celery worker processes on the
   `backups` queue timing real backups of many small assets, then 1, 2 and 4
   on the `restores` queue timing a real drill run that restores them all.

Every process it starts (workers, beat, gunicorn) is stopped when it ends,
fails, or is stopped with Ctrl-C, SIGTERM or SIGHUP.

Without PostgreSQL it says so and exits 0, so `make bench` works anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import procs
from bench.scale.common import SECRET, TINY, LoadSampler, Results, bench_url, drop_database, recreate_database, scaled
from bench.scale.estate import fill, time_imports
from bench.scale.inprocess import count_queries, pages, time_tasks
from bench.scale.report import report, write_section
from bench.scale.serve import serve_and_time, server_env, time_web_tier
from bench.scale.workers import time_workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a tenth of the estate (the default)")
    size.add_argument("--full", action="store_true", help="the whole estate: 10,000 assets, 1,000,000 events")
    size.add_argument("--scale", type=float, metavar="F", help="this fraction of the whole estate (0 < F <= 1)")
    size.add_argument("--tiny", action="store_true", help="a token estate, for the worker part alone")
    parser.add_argument("--no-workers", action="store_true", help="skip the worker scale-out part")
    parser.add_argument("--no-pages", action="store_true", help="skip timing every page (gunicorn, 3 workers)")
    parser.add_argument("--no-web-tier", action="store_true", help="skip 20 clients on 1 against 3 gunicorn workers")
    parser.add_argument("--write", type=Path, help="replace the scale section of this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the estate a --keep run left (no fill)")
    parser.add_argument("--import-only", type=int, metavar="ASSETS", help="only time an import of this many assets")
    args = parser.parse_args()
    if args.scale is not None and not 0 < args.scale <= 1:
        parser.error("--scale takes a fraction above 0 and at most 1")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("scale_bench: needs DATABASE_URL=postgres://…; skipped.")
        return 0
    fraction = 1.0 if args.full else args.scale if args.scale is not None else 0.1
    sizes = TINY if args.tiny else scaled(fraction)
    label = "--tiny" if args.tiny else "--full" if fraction == 1 else f"a fraction {fraction:g} of the full size"
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
    procs.stop_on_signals()
    load = LoadSampler()
    load.start()
    try:
        print("migrating", flush=True)
        call_command("migrate", verbosity=0)
        if args.import_only:
            time_imports(args.import_only, results)
            print(f"{results.notes}; load average {load.summary()}")
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
        # A production PostgreSQL keeps planner statistics through autovacuum, which may be off on a
        # development server: analyse once, so the plans timed are the ones a live estate gets.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
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
        if not args.no_pages:
            print("serving with gunicorn", flush=True)
            serve_and_time(urls, cookie, env, sizes, results)
        if not args.no_web_tier:
            print("web tier: gunicorn with 1 and with 3 workers", flush=True)
            time_web_tier(urls, cookie, env, results)
        if not args.no_workers:
            print("workers", flush=True)
            time_workers(sizes, env, var_dir, results)
        machine = f"{os.cpu_count()} cores, load average {load.summary()} during the run"
        section = report(results, label=label, machine=machine)
        print(section)
        if args.write:
            write_section(args.write, section)
        (var_dir / "results.json").write_text(json.dumps(results.__dict__, default=str))
    finally:
        procs.stop_all()
        load.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(db_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
