"""Helpers shared by the run, step and approval services: digests, targets, dispatch."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from dr_portal.audit.services import audit_append, canonical_json
from dr_portal.errors import Refused
from dr_portal.queue import send_on_commit
from incidents.runs.models import RecoveryRun, StepRun, StepState
from incidents.runs.targets import drill_root, region_root, restore_target

SYSTEM = "system:runs"
__all__ = ["drill_root", "region_root", "restore_target"]


class RunRefused(Refused):
    """A run or step action is not allowed now; the message says why, for the person who asked."""

    code = "run_refused"


def step_digest(step: StepRun, run: RecoveryRun) -> str:
    """SHA-256 over everything that decides what the step will do.

    An approval records this digest; if any of it changes afterwards, the
    approval no longer counts towards the quorum.
    """
    canonical = {
        "run": str(run.public_id),
        "mode": run.mode,
        "key": step.key,
        "kind": step.kind,
        "asset": str(step.asset.public_id) if step.asset else None,
        "point": str(step.point.public_id) if step.point else None,
        "target_path": step.target_path,
        "target_region": step.target_region,
        "critical": step.critical,
        "timeout_seconds": step.timeout_seconds,
        "params": step.params,
    }
    if step.target_config:  # only connector steps carry it, so older digests stay as they were
        canonical["target_config"] = step.target_config
    return hashlib.sha256(canonical_json(canonical).encode()).hexdigest()


def audit_step(action: str, step: StepRun, *, actor: Any = None, **payload: Any) -> None:
    audit_append(
        action=action,
        actor=actor,
        system_actor=SYSTEM,
        obj=step.run,
        incident_id=step.run.incident_uuid,
        payload={"step": step.key, "kind": step.kind, "attempt": step.attempt, **payload},
    )


def audit_run(action: str, run: RecoveryRun, *, actor: Any = None, **payload: Any) -> None:
    audit_append(
        action=action,
        actor=actor,
        system_actor=SYSTEM,
        obj=run,
        incident_id=run.incident_uuid,
        payload=payload,
    )


def send_advance(run: RecoveryRun) -> None:
    from incidents.runs.tasks import run_advance

    send_on_commit(run_advance, args=(run.pk,))


def send_step(step: StepRun, *, countdown: float | None = None) -> None:
    from incidents.runs.tasks import step_run

    # The step's own timeout bounds the task, not the worker-wide limit (a big restore outlasts it).
    limit = max(step.timeout_seconds + 120, settings.CELERY_TASK_TIME_LIMIT)
    send_on_commit(step_run, args=(step.pk,), task_id=step.celery_task_id, countdown=countdown, time_limit=limit)


def send_cleanup(run: RecoveryRun, *, countdown: float | None = None) -> None:
    from incidents.runs.tasks import run_cleanup

    send_on_commit(run_cleanup, args=(run.pk,), countdown=countdown)


def dispatch_step(step: StepRun) -> None:
    """Queue a step for a worker: a fresh task id on the row, then the message once committed."""
    step.state = StepState.QUEUED
    step.queued_at = timezone.now()
    step.celery_task_id = str(uuid.uuid4())
    step.save(update_fields=["state", "queued_at", "celery_task_id"])
    send_step(step)
