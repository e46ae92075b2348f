"""Two approvers at the same instant: each recorded once, the step dispatched once (real threads, real locks)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import Approval, StepRun, StepState
from incidents.runs.services import common as run_common
from incidents.runs.services import run_advance, step_approve
from incidents.runs.services.steps import step_claim
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


def test_two_workers_taking_over_a_lapsed_step_at_the_same_moment_take_it_once(model, commander, settings) -> None:
    """The reconciler re-sends a lapsed step every pass, so two idle workers can take two copies of
    its message at once. The claim's conditions join the run and the asset: on PostgreSQL an UPDATE
    of that shape re-read only the row id after waiting for the other claim, and both took it."""
    settings.RUN_STEP_MAX_ATTEMPTS = 1000
    run = start_run(
        plan=make_plan([{"key": "restore", "kind": "restore", "asset": model.name}]), mode="drill", by=commander
    )
    run_advance(run_id=run.pk)
    step = StepRun.objects.get(run=run)
    assert step_claim(step_id=step.pk, worker="dead") is not None

    def claim(worker: str, barrier: threading.Barrier, won: list[str], errors: list[BaseException]) -> None:
        try:
            barrier.wait(timeout=10)
            if step_claim(step_id=step.pk, worker=worker) is not None:
                won.append(worker)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    for round_ in range(15):
        StepRun.objects.filter(pk=step.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        barrier = threading.Barrier(2)
        won: list[str] = []
        errors: list[BaseException] = []
        threads = [threading.Thread(target=claim, args=(f"w{round_}-{i}", barrier, won, errors)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        assert len(won) == 1, f"round {round_}: taken over by {won}"
    assert AuditEvent.objects.filter(action="step.taken_over", object_id=str(run.public_id)).count() == 15
