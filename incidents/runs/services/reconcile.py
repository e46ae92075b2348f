"""The runs reconciler: re-sends whatever is stuck, on beat. Safe to run at any time, any number of times."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dr_portal.queue import send_now
from incidents.runs.models import RUN_ACTIVE, RUN_FINISHED, RecoveryRun, RunStatus, StepRun, StepState
from incidents.runs.services.common import send_step
from inventory.models import StepKind


def _lease() -> timedelta:
    return timedelta(seconds=settings.RUN_STEP_LEASE_SECONDS)


def runs_reconcile(*, now: datetime | None = None, tiers: list[int] | None = None) -> list[str]:
    """Re-send whatever is stuck: runs never picked up, steps whose message or worker was lost,
    finished runs not yet cleaned; expire approvals and time out steps. Safe to run any time.

    With `tiers`, only re-send those tiers' lost steps: the quick pass a tier with a shorter
    RUN_RECONCILE_SECONDS_BY_TIER period gets on beat, so its lost worker is found sooner."""
    from incidents.runs.services.approvals import approvals_expire
    from incidents.runs.services.steps import step_timeout

    now = now or timezone.now()
    if tiers is not None:
        lost = StepRun.objects.stuck(now=now, tiers=tiers).exclude(kind=StepKind.MANUAL)
        return [resend_step(step_id=pk) for pk in lost.values_list("pk", flat=True)]
    lease = _lease()
    done: list[str] = []
    # Runs: queued or between steps with nothing in flight, and nobody nudged them lately.
    quiet = now - lease
    for run in RecoveryRun.objects.filter(status__in=RUN_ACTIVE).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=quiet)
    ):
        if run.status == RunStatus.VERIFYING:
            from incidents.runs.tasks import run_verify

            send_now(run_verify, args=(run.pk,))
        else:
            send_now_advance(run)
        RecoveryRun.objects.filter(pk=run.pk).update(dispatched_at=now)
        done.append(f"nudged run {run.public_id}")
    for step in StepRun.objects.stuck(now=now).exclude(kind=StepKind.MANUAL):
        done.append(resend_step(step_id=step.pk))
    for step in StepRun.objects.filter(state=StepState.RUNNING, wake_at__lt=now - timedelta(seconds=5)):
        done.append(resend_step(step_id=step.pk))
    for step in StepRun.objects.filter(state=StepState.RUNNING, kind=StepKind.MANUAL, started_at__isnull=False):
        if step.started_at and now - step.started_at > timedelta(seconds=step.timeout_seconds):
            done.append(step_timeout(step_id=step.pk))
    done += approvals_expire(now=now)
    # A clean-up in progress renews dispatched_at (run_cleanup_execute): only a silent one is sent again,
    # or every pass would start another worker on the same, possibly minutes-long, clean-up.
    uncleaned = RecoveryRun.objects.filter(status__in=RUN_FINISHED, cleaned_at__isnull=True)
    for run in uncleaned.filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=quiet)):
        from incidents.runs.tasks import run_cleanup

        send_now(run_cleanup, args=(run.pk,))
        done.append(f"cleanup of run {run.public_id}")
    from incidents.runs.services.cleanup import run_locks_release_finished

    done += run_locks_release_finished()
    return done


def send_now_advance(run: RecoveryRun) -> None:
    from incidents.runs.tasks import run_advance

    send_now(run_advance, args=(run.pk,))


@transaction.atomic
def resend_step(*, step_id: int) -> str:
    """Send a stuck step's message again; a step out of attempts is failed instead."""
    from incidents.runs.services.steps import step_fail

    step = StepRun.objects.select_for_update(of=("self",), no_key=True).select_related("run").get(pk=step_id)
    if step.state not in (StepState.QUEUED, StepState.RUNNING):
        return f"step {step.key}: no longer stuck"
    if step.state == StepState.RUNNING and step.wake_at is None and step.attempt >= settings.RUN_STEP_MAX_ATTEMPTS:
        step_fail(
            step_id=step.pk,
            attempt=step.attempt,
            code="worker_lost",
            reason=f"The worker stopped reporting on attempt {step.attempt} of {settings.RUN_STEP_MAX_ATTEMPTS}; "
            "giving up.",
        )
        return f"failed step {step.key} of run {step.run.public_id}"
    step.celery_task_id = str(uuid.uuid4())
    step.save(update_fields=["celery_task_id"])
    send_step(step)
    return f"re-sent step {step.key} of run {step.run.public_id}"
