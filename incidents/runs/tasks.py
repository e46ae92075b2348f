"""Celery tasks for runs: each takes an id, calls a service, returns a short line; safe to run twice."""

from __future__ import annotations

import os
import socket

from celery import Task, shared_task

from incidents.runs.services import (
    run_advance as run_advance_service,
)
from incidents.runs.services import (
    run_cleanup_execute,
    run_verify_execute,
    runs_reconcile,
    step_execute,
)


@shared_task(name="runs.advance")
def run_advance(run_id: int) -> str:
    return run_advance_service(run_id=run_id)


@shared_task(bind=True, name="runs.step")
def step_run(self: Task[[int], str], step_id: int) -> str:
    # Who holds the lease, for the run page and the audit log.
    worker = f"{self.request.hostname or socket.gethostname()}:{os.getpid()}"
    return step_execute(step_id=step_id, worker=worker)


@shared_task(name="runs.verify")
def run_verify(run_id: int) -> str:
    return run_verify_execute(run_id=run_id)


@shared_task(name="runs.cleanup")
def run_cleanup(run_id: int) -> str:
    return run_cleanup_execute(run_id=run_id)


@shared_task(name="runs.reconcile", expires=60)
def reconcile(tiers: list[int] | None = None) -> str:
    done = runs_reconcile(tiers=tiers)
    return "; ".join(done) or "nothing stuck"
