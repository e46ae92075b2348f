"""Steps: claim, progress, succeed or fail; skip, retry, mark done, change; the worker's entry point.

A worker claims a step with one conditional UPDATE (queued → running, or a
running step whose lease lapsed because its worker died), so two deliveries
of the same message start it once. Every later write by that worker is
conditional on its attempt number: once another worker has taken over, or
a person skipped or cancelled it, the first worker's writes match no row and
it stops at its next checkpoint.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from dr_portal.accounts.contents import words_and_detail
from dr_portal.accounts.models import User
from incidents.runs.models import (
    RUN_FINISHED,
    STEP_UNSUCCESSFUL,
    Mode,
    RecoveryRun,
    RunStatus,
    StepRun,
    StepState,
)
from incidents.runs.services.approvals import step_request_approval
from incidents.runs.services.common import (
    RunRefused,
    audit_run,
    audit_step,
    restore_target,
    send_advance,
    send_cleanup,
    send_step,
    step_digest,
)
from incidents.runs.services.lease import lapsed, step_overdue
from inventory.models import RecoveryPoint, StepKind

CLAIMABLE_RUN = [RunStatus.RUNNING, RunStatus.WAITING_APPROVAL]


@transaction.atomic
def step_claim(*, step_id: int, worker: str) -> StepRun | None:
    """Take a step for this worker; None when it is not ours to run (finished, or alive elsewhere).

    The claim and its audit event commit together: an event that fails (a deadlock, a lost
    connection) takes the claim with it, so every attempt has exactly one start event.
    """
    # The row lock first: the conditions below join the run and the asset, and PostgreSQL runs
    # such an UPDATE as "id IN (a select)" whose select keeps the snapshot from before it waited
    # for another claim, so two workers taking over a lapsed step at once both took it.
    if not StepRun.objects.select_for_update(of=("self",), no_key=True).filter(pk=step_id).exists():
        return None
    now = timezone.now()
    rows = StepRun.objects.filter(pk=step_id, run__status__in=CLAIMABLE_RUN)
    fresh = {
        "state": StepState.RUNNING,
        "attempt": F("attempt") + 1,
        "started_at": Coalesce("started_at", now),
        "attempt_started_at": now,
        "heartbeat_at": now,
        "worker": worker[:200],
        "wake_at": None,
        "bytes_done": 0,
        "rate_bps": None,
    }
    how = ""
    if rows.filter(state=StepState.QUEUED).update(**fresh):
        how = "started"
    elif rows.filter(state=StepState.RUNNING, wake_at__lte=now).update(
        heartbeat_at=now, worker=worker[:200], wake_at=None
    ):
        how = "woke"
    elif (
        rows.filter(
            state=StepState.RUNNING,
            wake_at__isnull=True,
            attempt__lt=settings.RUN_STEP_MAX_ATTEMPTS,
        )
        .filter(lapsed(now))
        .exclude(kind=StepKind.MANUAL)
        .update(**fresh)
    ):
        how = "taken_over"
    if not how:
        return None
    step = StepRun.objects.select_related("run", "asset", "asset__policy", "point", "point__vault").get(pk=step_id)
    if how != "woke":
        audit_step(f"step.{how}", step, worker=step.worker)
    return step


def step_progress(*, step: StepRun, bytes_done: int, bytes_total: int) -> bool:
    """Save progress and renew the lease; False when the step is no longer this attempt's or out of time."""
    now = timezone.now()
    started = step.attempt_started_at or now
    elapsed = max((now - started).total_seconds(), 1e-3)
    done = min(bytes_done, bytes_total)
    updated = StepRun.objects.filter(pk=step.pk, state=StepState.RUNNING, attempt=step.attempt).update(
        bytes_done=done, bytes_total=bytes_total, heartbeat_at=now, rate_bps=done / elapsed
    )
    return updated == 1 and not step_overdue(step, now=now)


def _locked_running(step_id: int, attempt: int) -> StepRun | None:
    step = StepRun.objects.select_for_update(of=("self",), no_key=True).select_related("run").filter(pk=step_id).first()
    if step is None or step.state != StepState.RUNNING or step.attempt != attempt:
        return None
    return step


@transaction.atomic
def step_succeed(
    *, step_id: int, attempt: int, evidence: dict[str, Any], bytes_moved: int | None = None
) -> StepRun | None:
    step = _locked_running(step_id, attempt)
    if step is None:
        return None
    now = timezone.now()
    step.state = StepState.SUCCEEDED
    step.finished_at = now
    step.evidence = evidence
    step.worker, step.heartbeat_at, step.wake_at = "", None, None
    step.error, step.error_code = "", ""
    fields = ["state", "finished_at", "evidence", "worker", "heartbeat_at", "wake_at", "error", "error_code"]
    if step.bytes_total:
        step.bytes_done = step.bytes_total
        fields.append("bytes_done")
    if bytes_moved is not None and step.attempt_started_at:
        # The rate this attempt really achieved: bytes it fetched, not files a resume found in place.
        # Too little to time (or nothing fetched) says nothing about throughput, so it is not kept.
        elapsed = max((now - step.attempt_started_at).total_seconds(), 1e-3)
        step.rate_bps = bytes_moved / elapsed if bytes_moved >= 1024 * 1024 else None
        fields.append("rate_bps")
    step.save(update_fields=fields)
    audit_step("step.succeeded", step, evidence=evidence)
    send_advance(step.run)
    return step


@transaction.atomic
def step_fail(
    *, step_id: int, attempt: int, code: str, reason: str, evidence: dict[str, Any] | None = None
) -> StepRun | None:
    step = _locked_running(step_id, attempt)
    if step is None:
        return None
    # A message naming a point's file keeps it only in the evidence restorers see (accounts/contents.py).
    words, detail = words_and_detail(reason or "The step failed without a reason.")
    evidence = {**detail, **(evidence or {})}
    step.state = StepState.FAILED
    step.finished_at = timezone.now()
    step.error_code = code[:32]
    step.error = words
    step.evidence = {**step.evidence, **evidence}
    step.worker, step.heartbeat_at, step.wake_at = "", None, None
    step.save(
        update_fields=["state", "finished_at", "error_code", "error", "evidence", "worker", "heartbeat_at", "wake_at"]
    )
    audit_step("step.failed", step, code=code, reason=step.error, evidence=evidence)
    send_advance(step.run)
    return step


@transaction.atomic
def step_retry_later(*, step_id: int, attempt: int, code: str, reason: str) -> StepRun | None:
    """A transient failure (vault unreachable, disk hiccup): queue the step again with backoff."""
    step = _locked_running(step_id, attempt)
    if step is None:
        return None
    if step.attempt >= settings.RUN_STEP_MAX_ATTEMPTS:
        return step_fail(
            step_id=step_id, attempt=attempt, code=code, reason=f"{reason} (gave up after {attempt} attempts)"
        )
    step.state = StepState.QUEUED
    step.queued_at = timezone.now()
    step.celery_task_id = str(uuid.uuid4())
    step.worker, step.heartbeat_at = "", None
    step.evidence = {**step.evidence, "last_error": reason}
    step.save(update_fields=["state", "queued_at", "celery_task_id", "worker", "heartbeat_at", "evidence"])
    audit_step("step.retrying", step, code=code, reason=reason)
    delay = min(60.0, 2.0**step.attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not secrets
    send_step(step, countdown=delay)
    return step


@transaction.atomic
def step_sleep(*, step_id: int, attempt: int, seconds: float, evidence: dict[str, Any]) -> StepRun | None:
    """A wait step: stay running, free the worker, look again in `seconds`."""
    step = _locked_running(step_id, attempt)
    if step is None:
        return None
    now = timezone.now()
    step.wake_at = now + timedelta(seconds=seconds)
    step.heartbeat_at = now
    step.worker = ""
    step.evidence = evidence
    step.celery_task_id = str(uuid.uuid4())
    step.save(update_fields=["wake_at", "heartbeat_at", "worker", "evidence", "celery_task_id"])
    send_step(step, countdown=seconds)
    return step


@transaction.atomic
def step_await_person(*, step_id: int, attempt: int, evidence: dict[str, Any]) -> StepRun | None:
    """A manual step: running, holding no worker, until a person marks it done."""
    step = _locked_running(step_id, attempt)
    if step is None:
        return None
    step.worker, step.heartbeat_at = "", None
    step.evidence = evidence
    step.save(update_fields=["worker", "heartbeat_at", "evidence"])
    audit_step("step.waiting_for_person", step, instructions=evidence.get("instructions", ""))
    return step


def step_release(*, step: StepRun) -> None:
    """The worker has stopped touching the step's target (after a cancel, skip or takeover)."""
    StepRun.objects.filter(pk=step.pk, attempt=step.attempt).exclude(state=StepState.RUNNING).update(
        worker="", heartbeat_at=None
    )
    run = RecoveryRun.objects.get(pk=step.run_id)
    if run.status in RUN_FINISHED and run.cleaned_at is None:
        send_cleanup(run)


# --- what people do -------------------------------------------------------------------


def _lock_pair(step: StepRun) -> tuple[RecoveryRun, StepRun]:
    run = RecoveryRun.objects.select_for_update(no_key=True).get(pk=step.run_id)
    locked = (
        StepRun.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset", "asset__policy", "point")
        .get(pk=step.pk)
    )
    locked.run = run
    return run, locked


# Steps whose work lives in a drill target: clean-up deleted it, so a reopened drill does them again.
_REDONE_AFTER_CLEANUP = (StepKind.RESTORE, StepKind.VERIFY, StepKind.SMOKE)


def _reopen(run: RecoveryRun, by: User) -> None:
    """A finished run comes back to life when a person retries or skips one of its steps.

    Only after its clean-up: that is what gave its assets back and removed its drill
    targets, so the reopened run queues for its assets again like a new one, redoes
    what lived in the removed targets, and is cleaned (and releases them) again when
    it ends.
    """
    if run.status == RunStatus.CANCELLED:
        raise RunRefused("The run was cancelled; start a new run instead.")
    if run.status not in (RunStatus.FAILED, RunStatus.PARTIALLY_FAILED, RunStatus.SUCCEEDED):
        return
    if run.cleaned_at is None:
        raise RunRefused("The run is still being cleaned up; try again in a few seconds.")
    run.status = RunStatus.QUEUED
    run.finished_at = None
    run.cleaned_at = None
    run.error = ""
    run.service_verified_at = None
    run.save(update_fields=["status", "finished_at", "cleaned_at", "error", "service_verified_at"])
    redo: list[str] = []
    if run.mode == Mode.DRILL:
        done = run.steps.filter(state=StepState.SUCCEEDED, kind__in=_REDONE_AFTER_CLEANUP)
        redo = list(done.order_by("position").values_list("key", flat=True))
        done.update(state=StepState.PENDING, finished_at=None)
    run.steps.filter(state=StepState.CANCELLED).update(state=StepState.PENDING, finished_at=None)
    audit_run("run.reopened", run, actor=by, redone=redo)


@transaction.atomic
def step_skip(*, step: StepRun, by: User, reason: str) -> StepRun:
    run, locked = _lock_pair(step)
    if not reason.strip():
        raise RunRefused("Say why the step is skipped.")
    if locked.state in (StepState.SUCCEEDED, StepState.SKIPPED, StepState.CANCELLED):
        raise RunRefused(f"The step has already {locked.get_state_display().lower()}.")
    _reopen(run, by)
    was = locked.state
    locked.state = StepState.SKIPPED
    locked.skip_reason = reason.strip()
    locked.acted_by = by
    locked.finished_at = timezone.now()
    locked.save(update_fields=["state", "skip_reason", "acted_by", "finished_at"])
    audit_step("step.skipped", locked, actor=by, reason=locked.skip_reason, was=was)
    send_advance(run)
    return locked


@transaction.atomic
def step_retry(*, step: StepRun, by: User) -> StepRun:
    run, locked = _lock_pair(step)
    if locked.state not in STEP_UNSUCCESSFUL:
        raise RunRefused("Only a failed, rejected or expired step can be retried.")
    _reopen(run, by)
    was = locked.state
    locked.state = StepState.PENDING
    locked.finished_at = None
    locked.error, locked.error_code = "", ""
    locked.evidence = {"previous_error": locked.evidence.get("error") or was}
    locked.save(update_fields=["state", "finished_at", "error", "error_code", "evidence"])
    audit_step("step.retried", locked, actor=by, was=was)
    if locked.requires_approval and run.status != RunStatus.QUEUED:
        step_request_approval(step=locked, run=run, by=by)  # whoever retries is the one asking now
    send_advance(run)
    return locked


@transaction.atomic
def step_mark_done(*, step: StepRun, by: User, note: str) -> StepRun:
    run, locked = _lock_pair(step)
    if locked.kind != StepKind.MANUAL:
        raise RunRefused("Only a manual step is marked done by a person.")
    if locked.state != StepState.RUNNING:
        raise RunRefused("The step is not waiting for anyone right now.")
    if not note.strip():
        raise RunRefused("Say what was done.")
    locked.state = StepState.SUCCEEDED
    locked.finished_at = timezone.now()
    locked.acted_by = by
    locked.evidence = {**locked.evidence, "done_by": by.get_username(), "note": note.strip()}
    locked.save(update_fields=["state", "finished_at", "acted_by", "evidence"])
    audit_step("step.done_by_person", locked, actor=by, note=note.strip())
    send_advance(run)
    return locked


@transaction.atomic
def step_change(*, step: StepRun, by: User, point: RecoveryPoint | None = None, target: str | None = None) -> StepRun:
    """Change a restore step's recovery point or target before it runs; earlier approvals stop counting."""
    run, locked = _lock_pair(step)
    if locked.kind != StepKind.RESTORE or locked.asset is None:
        raise RunRefused("Only a restore step's point and target can be changed.")
    if locked.state not in (StepState.PENDING, StepState.WAITING_APPROVAL):
        raise RunRefused("The step has already started; it can no longer be changed.")
    if point is not None:
        if point.asset_id != locked.asset_id or not point.is_good:
            raise RunRefused("Choose a good recovery point of the same asset.")
        locked.point = point
        locked.bytes_total = point.size_bytes or None
    if target is not None:
        path, region = restore_target(run=run, asset=locked.asset, target=target)
        allowed = locked.asset.policy.allowed_regions if locked.asset.policy else []
        if allowed and region not in allowed:
            raise RunRefused(
                f"{region} is outside the regions {locked.asset.name}'s policy allows ({', '.join(allowed)})."
            )
        locked.target_path, locked.target_region = path, region
        locked.params = {**locked.params, "target": target}
    old = locked.params_digest
    locked.params_digest = step_digest(locked, run)
    locked.save(update_fields=["point", "bytes_total", "target_path", "target_region", "params", "params_digest"])
    locked.changed_by.add(by)
    audit_step("step.changed", locked, actor=by, digest_before=old, digest_after=locked.params_digest)
    return locked


@transaction.atomic
def step_timeout(*, step_id: int) -> str:
    step = StepRun.objects.select_for_update(no_key=True).get(pk=step_id)
    if step.state != StepState.RUNNING:
        return f"step {step.key}: not running"
    return (
        f"timed out step {step.key}"
        if step_fail(
            step_id=step.pk,
            attempt=step.attempt,
            code="timeout",
            reason=f"Not done within its {step.timeout_seconds} s timeout.",
        )
        else f"step {step.key}: changed meanwhile"
    )
