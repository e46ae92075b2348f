"""A real worker process reports in, and /readyz notices."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from dr_portal.celery import app
from dr_portal.ops.models import WorkerHeartbeat
from dr_portal.ops.tasks import heartbeat
from dr_portal.queue import send_now
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_celery_is_configured_for_safe_delivery() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_ignore_result is True
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert "ops.heartbeat" in conf.beat_schedule


def test_a_started_worker_turns_readyz_green_and_runs_heartbeats() -> None:
    assert Client().get("/readyz").status_code == 503
    with running_worker(name="ready") as worker:
        wait_for(lambda: WorkerHeartbeat.objects.filter(hostname__startswith="ready@").exists(), what="first heartbeat")
        assert Client().get("/readyz").status_code == 200
        first = WorkerHeartbeat.objects.get(hostname__startswith="ready@").seen_at
        assert send_now(heartbeat, args=())
        wait_for(
            lambda: WorkerHeartbeat.objects.get(hostname__startswith="ready@").seen_at > first,
            what="heartbeat task to run on the worker",
        )
        assert worker.poll() is None, (settings.VAR_DIR / "worker-ready.log").read_text()
