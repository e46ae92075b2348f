"""In-process measures: SQL queries per page (Django test client) and the time of each periodic task."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.scale.common import Results

# At most this many runs of a periodic task to clear what is due before it is timed.
DRAIN_RUNS = 50


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
    # The scheduler queues (or works out the next time of) at most 2,000 assets a run and reports only what it
    # queued: cleared with no limit, or a run that only stored unknown times would look like nothing to do.
    clear: dict[str, Callable[[], Any]] = {"inventory.backups_schedule": lambda: backups_enqueue_due(limit=10**9)}
    for name, task in tasks.items():

        def once(task: Callable[[], Any] = task) -> Any:
            with transaction.atomic():
                return task()

        # Steady state: run the task until it reports nothing to do (what the fill or a reused estate left
        # due: backups to queue, rows to sweep, a migration's unknowns), then time one more run.
        runs, done = 0, 0
        while runs < DRAIN_RUNS:
            result = once(clear.get(name, task))
            runs += 1
            work = len(result) if isinstance(result, list | tuple | set) else int(result or 0)
            if not work:
                break
            done += work
        if done:
            results.notes.append(f"{name}: {done:,} items of work done in {runs - 1} run(s) before it was timed")
        if runs == DRAIN_RUNS:
            results.notes.append(f"{name}: still had work after {DRAIN_RUNS} runs; timed anyway")
        start = time.perf_counter()
        once()
        results.tasks[name] = time.perf_counter() - start
