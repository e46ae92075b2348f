"""Approvals are a gate: role, quorum of distinct people, never one's own request, MFA, digest, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.models import Delivery
from incidents.runs.models import Approval, StepRun, StepState
from incidents.runs.services import RunRefused, notify_approvers, runs_reconcile, step_approve, step_change, step_reject
from incidents.services.outbound import delivery_attempt
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def failover_plan(model):
    model.policy.failover_quorum = 2
    model.policy.save()
    return make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "failover", "kind": "failover", "asset": model.name, "after": ["restore"]},
        ],
        name="failover plan",
    )


@pytest.fixture
def waiting(failover_plan, commander, oncall, oncall2) -> StepRun:
    run = drive(start_run(plan=failover_plan, mode="recovery", by=commander))
    assert run.status == "waiting_approval"
    step = run.steps.get(key="failover")
    assert step.state == StepState.WAITING_APPROVAL and step.approval_quorum == 2
    return step


def test_waiting_step_notifies_the_approver_role_by_email_and_webhook(
    waiting: StepRun, oncall, oncall2, settings
) -> None:
    deliveries = Delivery.objects.filter(event="approval_needed")
    email = deliveries.get(channel="email")
    assert sorted(email.recipients) == sorted([oncall.email, oncall2.email]), "the requester is not asked"
    assert email.payload["step"]["target_region"] == "eu-central-1" and email.payload["step"]["quorum"] == 2
    delivery_attempt(delivery_id=email.pk)  # what the worker does once the transaction has committed
    assert len(mail.outbox) == 1 and "approval needed for" in mail.outbox[0].subject
    settings.OUTBOUND_WEBHOOK_URLS = ["http://127.0.0.1:9/hook"]
    notify_approvers(step=waiting, run=waiting.run)  # the same request again: only the new channel is added
    assert deliveries.filter(channel="email").count() == 1
    assert deliveries.get(channel="webhook").payload["step"]["approval_role"] == "oncall_engineer"


def test_requester_cannot_approve_own_step(waiting: StepRun, commander) -> None:
    with pytest.raises(RunRefused, match="You asked for this step"):
        step_approve(step=waiting, by=commander, comment="looks fine")


def test_wrong_role_cannot_approve(waiting: StepRun, viewer) -> None:
    with pytest.raises(RunRefused, match="needs approval from On-call engineer"):
        step_approve(step=waiting, by=viewer, comment="me too")


def test_a_comment_is_required(waiting: StepRun, oncall) -> None:
    with pytest.raises(RunRefused, match="comment is required"):
        step_approve(step=waiting, by=oncall, comment="   ")


def test_quorum_counts_distinct_people_and_then_the_step_starts_once(waiting: StepRun, oncall, oncall2) -> None:
    step_approve(step=waiting, by=oncall, comment="checked the point")
    step_approve(step=waiting, by=oncall, comment="clicked again")
    waiting.refresh_from_db()
    assert waiting.state == StepState.WAITING_APPROVAL, "one person twice is still one approval"
    assert Approval.objects.filter(step=waiting).count() == 1
    step_approve(step=waiting, by=oncall2, comment="region is right")
    waiting.refresh_from_db()
    assert waiting.state == StepState.QUEUED
    assert waiting.run.status == "running"
    assert AuditEvent.objects.filter(action="step.approved").count() == 1
    run = drive(waiting.run)
    assert run.status == "succeeded"
    assert run.steps.get(key="failover").evidence["serving"] == "alternate"
    run.assets.get().refresh_from_db()
    assert run.assets.get().serving == "alternate"


def test_a_changed_step_invalidates_earlier_approvals(commander, oncall, oncall2, model) -> None:
    plan = make_plan(
        [
            {
                "key": "restore",
                "kind": "restore",
                "asset": model.name,
                "approval": {"role": "oncall_engineer", "quorum": 2},
            }
        ],
        name="gated restore",
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    step = run.steps.get()
    assert step.state == StepState.WAITING_APPROVAL
    step_approve(step=step, by=oncall, comment="checked point one")
    old = step.params_digest
    step = step_change(step=step, by=commander, point=backed_up(model))  # a newer point: what happens changed
    assert step.params_digest != old
    assert AuditEvent.objects.filter(action="step.changed").exists()
    step_approve(step=step, by=oncall2, comment="checked the new point")
    step.refresh_from_db()
    assert step.state == StepState.WAITING_APPROVAL, "oli approved different parameters; that no longer counts"
    step_approve(step=step, by=oncall, comment="re-checked the new point")
    step.refresh_from_db()
    assert step.state == StepState.QUEUED
    assert drive(run).status == "succeeded"


def test_rejection_fails_a_critical_step_and_the_run(waiting: StepRun, oncall) -> None:
    step_reject(step=waiting, by=oncall, comment="wrong region for this data")
    run = drive(waiting.run)
    assert run.status == "failed"
    assert "Rejected by oli: wrong region" in run.error


def test_approvals_expire(waiting: StepRun, oncall, oncall2, settings) -> None:
    step_approve(step=waiting, by=oncall, comment="first")
    later = timezone.now() + timedelta(minutes=settings.RUN_APPROVAL_TTL_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        runs_reconcile()
    waiting.refresh_from_db()
    assert waiting.state == StepState.EXPIRED
    assert "within" in waiting.error


def test_an_approval_older_than_the_ttl_no_longer_counts(waiting: StepRun, oncall, oncall2, settings) -> None:
    step_approve(step=waiting, by=oncall, comment="first")
    # The request itself is renewed (as a retry would) but oli's approval is now too old.
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.RUN_APPROVAL_TTL_MINUTES - 1), tick=False):
        StepRun.objects.filter(pk=waiting.pk).update(approval_requested_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.RUN_APPROVAL_TTL_MINUTES + 1), tick=False):
        step_approve(step=waiting, by=oncall2, comment="second")
        waiting.refresh_from_db()
        assert waiting.state == StepState.WAITING_APPROVAL


@pytest.mark.parametrize("quorum", [1, 2])
def test_whoever_changed_a_waiting_step_cannot_approve_it(commander, oncall, oncall2, admin, model, quorum) -> None:
    plan = make_plan(
        [
            {
                "key": "restore",
                "kind": "restore",
                "asset": model.name,
                "approval": {"role": "oncall_engineer", "quorum": quorum},
            }
        ],
        name=f"gated restore {quorum}",
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    step = step_change(step=run.steps.get(), by=admin, point=backed_up(model))  # admin may approve any role
    approvals_before = Approval.objects.count()
    with pytest.raises(RunRefused, match="You changed this step"):
        step_approve(step=step, by=admin, comment="my own change looks fine")
    assert Approval.objects.count() == approvals_before
    step.refresh_from_db()
    assert step.state == StepState.WAITING_APPROVAL
    for approver in [oncall, oncall2][:quorum]:
        step_approve(step=step, by=approver, comment="checked the changed point")
    step.refresh_from_db()
    assert step.state == StepState.QUEUED
