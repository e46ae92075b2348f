"""Two approvers at the same instant: each recorded once, the step dispatched once (real threads, real locks)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import Approval, StepRun, StepState
from incidents.runs.services import common as run_common
from incidents.runs.services import step_approve
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_approvers_at_once_are_each_recorded_once_and_the_step_starts_once(
    model, commander, oncall, oncall2, monkeypatch
) -> None:
    model.policy.failover_quorum = 2
    model.policy.save()
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "failover", "kind": "failover", "asset": model.name, "after": ["restore"]},
        ],
        name="quorum two",
    )
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    step = StepRun.objects.get(run=run, key="failover")
    assert step.state == StepState.WAITING_APPROVAL
    sent: list[int] = []
    monkeypatch.setattr(run_common, "send_step", lambda s, countdown=None: sent.append(s.pk))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve(user: Any, comment: str) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(2):  # and each clicks twice
                step_approve(step=step, by=user, comment=comment)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(oncall, "checked the point")),
        threading.Thread(target=approve, args=(oncall2, "checked the region")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert Approval.objects.filter(step=step).count() == 2
    assert sorted(Approval.objects.filter(step=step).values_list("approver__username", flat=True)) == ["olga", "oli"]
    assert AuditEvent.objects.filter(action="step.approval_recorded").count() == 2
    assert AuditEvent.objects.filter(action="step.approved").count() == 1
    assert sent == [step.pk], "dispatched exactly once"
    step.refresh_from_db()
    assert step.state == StepState.QUEUED
