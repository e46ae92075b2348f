"""Restore throughput: 1, 2 and 4 worker processes on the restores queue, each round one real drill run
that restores every small asset (one restore step each, all in one group, so all are queued at once)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.scale import procs
from bench.scale.common import Results
from bench.scale.workers import WORKER_COUNTS, start_workers, wait_ready


def restore_plan(assets: list[Any]) -> Any:
    from inventory.models import StepKind
    from inventory.services.plans import plan_save

    steps = [{"key": f"restore-{n:04d}", "kind": StepKind.RESTORE, "asset": a.name} for n, a in enumerate(assets)]
    name = f"bench restores {int(time.time())}"
    return plan_save(
        data={"name": name, "description": "Scale bench: every small asset at once.", "steps": steps}, by=None
    )


def time_restores(assets: list[Any], env: dict[str, str], var_dir: Path, results: Results) -> None:
    from incidents.runs.models import RUN_FINISHED, Mode, RecoveryRun, StepRun, StepState
    from incidents.runs.services import run_start
    from inventory.models import StepKind

    plan = restore_plan(assets)
    for count in WORKER_COUNTS:
        tag = f"restores{count}"
        workers = start_workers(count, "restores", tag=tag, env=env, var_dir=var_dir)
        with procs.started(*workers):
            wait_ready(workers, tag)
            window_start = datetime.now()
            load = os.getloadavg()[0]
            run = run_start(plan=plan, mode=Mode.DRILL, by=None, incident=None)
            deadline = time.monotonic() + 600
            done = RecoveryRun.objects.filter(pk=run.pk, status__in=RUN_FINISHED, cleaned_at__isnull=False)
            while not done.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the restore run did not finish in 10 minutes with {count} worker(s)")
                time.sleep(0.2)
            results.windows[f"restores {count}"] = (window_start, datetime.now())
        run.refresh_from_db()
        steps = StepRun.objects.filter(run=run, kind=StepKind.RESTORE)
        last = steps.order_by("-finished_at").values_list("finished_at", flat=True)[0]
        failed = steps.exclude(state=StepState.SUCCEEDED).count()
        restored = sum(steps.values_list("bytes_done", flat=True))
        assert run.started_at is not None and run.finished_at is not None and last is not None
        # From the run taking its assets (a scheduled restore test may hold one for a moment) to the last
        # restore written; the whole run adds the run's own verification of every target.
        seconds = (last - run.started_at).total_seconds()
        whole = (run.finished_at - run.started_at).total_seconds()
        waited = (run.started_at - run.created_at).total_seconds()
        results.restores[count] = (len(assets) / seconds * 60, seconds, whole, restored)
        results.worker_loads[f"restores {count}"] = (load, os.getloadavg()[0])
        print(
            f"  {count} restores worker(s): {len(assets)} restores in {seconds:.1f} s, run {run.status} after"
            f" {whole:.1f} s ({failed} failed, {restored / 1024:.0f} KiB, waited {waited:.1f} s for its assets)",
            flush=True,
        )
        if failed or run.status != "succeeded":
            results.notes.append(
                f"restores: {failed} of {len(assets)} restore steps failed with {count} worker(s); run {run.status}:"
                f" {run.error}"
            )
        if waited > 1:
            results.notes.append(f"restores: the run with {count} worker(s) waited {waited:.1f} s for its assets")
