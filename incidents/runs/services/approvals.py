"""Approvals: a gate, not a comment.

A step that needs approval waits in `waiting_approval`, naming the role and
quorum it needs. Each decision is one row per person per request, bound to
the digest of the step's parameters at the time; only unexpired approvals
with the current digest count. The person who asked, and anyone who changed
the step's point or target, can never approve it.
Both decisions lock the run row first, so two approvers at once are
recorded one after the other and the step is dispatched once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dr_portal.accounts.models import Role, User
from dr_portal.audit.checkpoints import checkpoint_now
from incidents.runs.models import (
    Approval,
    ApprovalWait,
    Decision,
    RecoveryRun,
    RunStatus,
    StepRun,
    StepState,
    WaitOutcome,
)
from incidents.runs.services.common import (
    RunRefused,
    audit_run,
    audit_step,
    dispatch_step,
    send_advance,
)
from incidents.services.outbound import notify

log = logging.getLogger(__name__)


def _ttl() -> timedelta:
    return timedelta(minutes=settings.RUN_APPROVAL_TTL_MINUTES)


def step_request_approval(*, step: StepRun, run: RecoveryRun, by: User | None) -> None:
    """Put a pending step in waiting_approval and tell the people who can approve it.

    Called under the run's lock by run_advance (and by retry)."""
    now = timezone.now()
    step.state = StepState.WAITING_APPROVAL
    step.approval_round += 1
    step.approval_requested_at = now
    step.approval_requested_by = by
    step.save(update_fields=["state", "approval_round", "approval_requested_at", "approval_requested_by"])
    audit_step(
        "step.approval_requested",
        step,
        actor=by,
        role=step.approval_role,
        quorum=step.approval_quorum,
        digest=step.params_digest,
        round=step.approval_round,
    )
    notify_approvers(step=step, run=run)


def notify_approvers(*, step: StepRun, run: RecoveryRun) -> int:
    """Tell the holders of the step's approval role (email) and the outbound webhooks; returns deliveries.

    Goes through the incidents app's notifier, so deliveries are rows sent by a
    worker after commit, retried, and deduplicated per request for approval."""
    if run.incident is None:
        log.warning("run %s has no incident; nobody notified about step %s", run.public_id, step.key)
        return 0
    point = step.point
    extra = {
        "step": {
            "id": str(step.public_id),
            "key": step.key,
            "title": step.title,
            "kind": step.kind,
            "asset": step.asset.name if step.asset else None,
            "target_path": step.target_path,
            "target_region": step.target_region,
            "point": str(point.public_id) if point else None,
            "data_as_of": point.data_as_of.isoformat() if point else None,
            "approval_role": step.approval_role,
            "quorum": step.approval_quorum,
            "digest": step.params_digest,
            "requested_by": step.approval_requested_by.get_username() if step.approval_requested_by else None,
        },
        "run": {"id": str(run.public_id), "reference": run.reference, "mode": run.mode},
        "approvals_url": settings.SITE_URL.rstrip("/") + reverse("incidents:approvals"),
    }
    made = notify(
        event="approval_needed",
        incident=run.incident,
        extra=extra,
        dedupe_key=f"approval:{step.public_id}:{step.approval_round}",
    )
    return len(made)


def valid_approvers(step: StepRun, *, now: datetime | None = None) -> list[int]:
    """Distinct people whose approval counts now: this round, this digest, not expired."""
    now = now or timezone.now()
    return sorted(
        set(
            step.approvals.filter(
                decision=Decision.APPROVE, round=step.approval_round, digest=step.params_digest, expires_at__gt=now
            ).values_list("approver_id", flat=True)
        )
    )


def _locked(step: StepRun) -> tuple[RecoveryRun, StepRun]:
    run = RecoveryRun.objects.select_for_update(no_key=True).get(pk=step.run_id)
    locked = (
        StepRun.objects.select_for_update(of=("self",), no_key=True).select_related("asset", "point").get(pk=step.pk)
    )
    locked.run = run
    return run, locked


def _may_decide(step: StepRun, by: User, comment: str) -> None:
    if not comment.strip():
        raise RunRefused("A comment is required: say what you checked.")
    if step.state != StepState.WAITING_APPROVAL:
        raise RunRefused(f"This step is no longer waiting for approval (it is {step.get_state_display().lower()}).")
    if step.approval_requested_by_id == by.pk:
        raise RunRefused("You asked for this step, so someone else must approve it.")
    if step.changed_by.filter(pk=by.pk).exists():
        raise RunRefused("You changed this step's point or target, so someone else must approve it.")
    if by.role not in (step.approval_role, Role.ADMIN):
        raise RunRefused(f"This step needs approval from {Role(step.approval_role).label}.")


def _already_decided(step: StepRun, by: User) -> bool:
    mine = Approval.objects.filter(step=step, approver=by, round=step.approval_round, digest=step.params_digest)
    return mine.exists()


def _record(step: StepRun, by: User, decision: str, comment: str, now: datetime) -> tuple[Approval, bool]:
    return Approval.objects.get_or_create(
        step=step,
        approver=by,
        round=step.approval_round,
        digest=step.params_digest,
        defaults={"decision": decision, "comment": comment.strip(), "created_at": now, "expires_at": now + _ttl()},
    )


@transaction.atomic
def step_approve(*, step: StepRun, by: User, comment: str) -> StepRun:
    """Record `by`'s approval; once the quorum of distinct approvers is reached the step is dispatched."""
    run, locked = _locked(step)
    now = timezone.now()
    if _already_decided(locked, by):
        return locked  # a second click counts once, even after the step has moved on
    if (
        locked.state == StepState.WAITING_APPROVAL
        and locked.approval_requested_at
        and now - locked.approval_requested_at > _ttl()
    ):
        _expire(run, locked)
        return locked  # the caller sees `expired`; a refusal here would roll the expiry back
    _may_decide(locked, by, comment)
    approval, created = _record(locked, by, Decision.APPROVE, comment, now)
    if not created:
        return locked  # a second click by the same person counts once
    audit_step(
        "step.approval_recorded", locked, actor=by, decision="approve", comment=approval.comment, digest=approval.digest
    )
    approvers = valid_approvers(locked, now=now)
    if len(approvers) >= locked.approval_quorum:
        locked.state = StepState.APPROVED
        locked.save(update_fields=["state"])
        _wait_decided(locked, WaitOutcome.APPROVED, now)
        audit_step("step.approved", locked, actor=by, approvers=approvers, digest=locked.params_digest)
        dispatch_step(locked)
        if run.status == RunStatus.WAITING_APPROVAL:
            run.status = RunStatus.RUNNING
            run.save(update_fields=["status"])
            audit_run("run.resumed", run, actor=by)
    checkpoint_now()  # a signed checkpoint right after each decision, exported once it commits
    return locked


@transaction.atomic
def step_reject(*, step: StepRun, by: User, comment: str) -> StepRun:
    run, locked = _locked(step)
    if _already_decided(locked, by):
        return locked
    _may_decide(locked, by, comment)
    approval, created = _record(locked, by, Decision.REJECT, comment, timezone.now())
    if not created:
        return locked
    locked.state = StepState.REJECTED
    locked.finished_at = timezone.now()
    locked.error = f"Rejected by {by.get_username()}: {approval.comment}"
    locked.save(update_fields=["state", "finished_at", "error"])
    _wait_decided(locked, WaitOutcome.REJECTED, locked.finished_at)
    audit_step("step.rejected", locked, actor=by, comment=approval.comment, digest=approval.digest)
    send_advance(run)
    checkpoint_now()  # a signed checkpoint right after each decision, exported once it commits
    return locked


def _expire(run: RecoveryRun, step: StepRun) -> None:
    step.state = StepState.EXPIRED
    step.finished_at = timezone.now()
    step.error = f"Nobody approved it within {settings.RUN_APPROVAL_TTL_MINUTES} minutes."
    step.save(update_fields=["state", "finished_at", "error"])
    _wait_decided(step, WaitOutcome.EXPIRED, step.finished_at)
    audit_step("step.approval_expired", step, quorum=step.approval_quorum)
    send_advance(run)


def _wait_decided(step: StepRun, outcome: WaitOutcome, at: datetime) -> None:
    """Keep the round's wait for the approval-wait histogram (/metrics), once per round."""
    requested = step.approval_requested_at or at
    ApprovalWait.objects.get_or_create(
        step=step,
        round=step.approval_round,
        defaults={"outcome": outcome, "requested_at": requested, "decided_at": max(at, requested)},
    )


def approvals_expire(*, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    done: list[str] = []
    for step_id in (
        StepRun.objects.waiting_for_approval()
        .filter(approval_requested_at__lt=now - _ttl())
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            step = StepRun.objects.get(pk=step_id)
            run, locked = _locked(step)
            if locked.state == StepState.WAITING_APPROVAL:
                _expire(run, locked)
                done.append(f"expired approval of {locked.key}")
    return done
