"""The three requests item 18 of #11 saw answer 500 with the broker down: now they answer, and commit once.

Declaring an incident, starting a drill and "Verify now" each commit, audit and
then send a task. With nothing listening at the broker's address the send must
give up within about a second (dr_portal/queue.py), and the request must answer
as it would with the broker up: a client that retried a 500 would have made a
duplicate.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from dr_portal.celery import app
from incidents.models import Incident
from inventory.tasks import backups_reconcile_task, point_verify_run
from tests.factories import AssetFactory, RecoveryPointFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_declaring_an_incident_starting_a_drill_and_verify_now_answer_with_the_broker_down(
    closed_broker: str, client_for: Any, commander: Any, caplog: pytest.LogCaptureFixture
) -> None:
    asset = AssetFactory.create(name="fraud-model")
    RecoveryPointFactory.create(asset=asset)
    client = client_for(commander)

    declared, took = _timed(
        lambda: client.post(
            "/api/v1/incidents/",
            {"title": "Scores drift", "category": "drift", "assets": ["fraud-model"], "commander": commander.username},
            content_type="application/json",
        )
    )
    assert declared.status_code == 201, declared.content
    assert took < 5
    drill, took = _timed(
        lambda: client.post(
            "/api/v1/drills/", {"assets": ["fraud-model"], "scenario": "Restore"}, content_type="application/json"
        )
    )
    assert drill.status_code == 201, drill.content
    assert took < 5
    verify, took = _timed(lambda: client.post(reverse("inventory:asset-verify", args=[asset.public_id])))
    assert verify.status_code == 302 and took < 5

    assert Incident.objects.count() == 2, "one incident and one drill, each committed once"
    assert AuditEvent.objects.filter(action="point.verify_requested").count() == 1
    assert any("the reconciler will retry" in r.getMessage() for r in caplog.records), "the sends did fail"


def test_a_verify_now_the_broker_never_took_is_sent_again_by_the_reconciler(
    closed_broker: str, broker_queue: Any, monkeypatch: pytest.MonkeyPatch, client_for: Any, oncall: Any
) -> None:
    asset = AssetFactory.create(name="fraud-model")
    point = RecoveryPointFactory.create(asset=asset)
    assert client_for(oncall).post(reverse("inventory:asset-verify", args=[asset.public_id])).status_code == 302
    point.refresh_from_db()
    assert point.verify_requested_at is not None, "the request is a row, not only a message"
    assert broker_queue.sent() == []

    # The broker is back; a little later the reconciler finds the request nobody answered.
    monkeypatch.setitem(app.conf, "broker_url", broker_queue.url)
    monkeypatch.setitem(app.conf, "broker_write_url", broker_queue.url)
    assert backups_reconcile_task() == "nothing stuck"  # too early: the worker may just be slow
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert "verify requests sent again: 1" in backups_reconcile_task()
    assert ("inventory.point_verify", [point.pk]) in broker_queue.sent()

    point_verify_run(point.pk)  # what the worker runs: the request is answered, whatever the outcome
    point.refresh_from_db()
    assert point.verify_requested_at is None
