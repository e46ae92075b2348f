"""The operations endpoints answer orchestrators and Prometheus."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from dr_portal.ops.services import heartbeat_record

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_with_a_reason_until_a_worker_reports() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "worker" in body["failed"]
    assert "no worker has reported" in body["reason"]


def test_readyz_is_200_with_a_fresh_heartbeat() -> None:
    heartbeat_record(hostname="worker@test")
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}


def test_readyz_turns_503_when_the_heartbeat_is_older_than_a_minute() -> None:
    heartbeat_record(hostname="worker@test")
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert "61 s old" in response.json()["failed"]["worker"]


def test_readyz_names_an_unreachable_broker(monkeypatch) -> None:
    from dr_portal.celery import app

    # Nothing listens on port 1.
    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    heartbeat_record(hostname="worker@test")
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "broker unreachable" in response.json()["failed"]["broker"]


def test_metrics_are_prometheus_text(commander) -> None:
    heartbeat_record(hostname="worker@test")
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'drp_users{role="incident_commander"} 1.0' in text
    assert "drp_worker_heartbeat_age_seconds" in text


def test_metrics_can_demand_a_token(settings) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert ok.status_code == 200


@pytest.mark.parametrize("broker", ["frozen_broker", "closed_broker"])
def test_readyz_answers_503_within_its_timeout_when_the_broker_does_not(
    broker: str, request: pytest.FixtureRequest
) -> None:
    heartbeat_record(hostname="worker@test")
    request.getfixturevalue(broker)
    started = time.monotonic()
    response = Client().get("/readyz")
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503
    assert "broker unreachable" in response.json()["failed"]["broker"]
