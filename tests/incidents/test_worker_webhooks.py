"""Outbound webhooks retried by a real Celery worker: backoff between attempts, and a recorded final failure."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.conf import settings

from dr_portal.audit.models import AuditEvent
from incidents.models import Delivery, DeliveryStatus
from incidents.services import incident_declare
from tests.incidents.webhook_server import webhook_receiver
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SECRET = "webhook-secret-for-worker-tests"


def _worker_env(url: str, attempts: int) -> dict[str, str]:
    return {
        "OUTBOUND_WEBHOOK_URLS": url,
        "OUTBOUND_WEBHOOK_SECRET": SECRET,
        "WEBHOOK_MAX_ATTEMPTS": str(attempts),
        "WEBHOOK_BACKOFF_SECONDS": "1",
        "WEBHOOK_BACKOFF_CAP_SECONDS": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
    }


@pytest.fixture
def webhook_only(settings):
    settings.NOTIFY_EMAIL = {key: [] for key in settings.NOTIFY_EMAIL}
    settings.OUTBOUND_WEBHOOK_SECRET = SECRET
    return settings


def _log(name: str) -> str:
    return (settings.VAR_DIR / f"worker-{name}.log").read_text()


def test_worker_retries_a_failing_webhook_until_it_is_delivered(webhook_only, commander) -> None:
    with webhook_receiver([500, 503, 200]) as receiver:
        webhook_only.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        with running_worker(name="hooks", concurrency=1, **_worker_env(receiver.url, attempts=5)) as worker:
            incident = incident_declare(title="Feature store down", category="availability", by=commander)
            wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).exists(),
                timeout=45,
                what="the webhook to be delivered on the third try",
            )
            assert worker.poll() is None, _log("hooks")
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3
    assert len(receiver.received) == 3
    # Every attempt carries the same delivery id, so the receiver can drop duplicates.
    assert len({r.headers["x-drp-delivery"] for r in receiver.received}) == 1
    assert AuditEvent.objects.filter(incident_id=incident.public_id, action="delivery.sent").count() == 1


def test_worker_records_the_final_failure(webhook_only, commander) -> None:
    with webhook_receiver([502]) as receiver:
        webhook_only.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        with running_worker(name="hooks-fail", concurrency=1, **_worker_env(receiver.url, attempts=3)):
            incident = incident_declare(title="Model registry down", category="availability", by=commander)
            wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.FAILED).exists(),
                timeout=45,
                what="the webhook to be given up",
            )
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3 and len(receiver.received) == 3
    assert "gave up after 3 attempts" in delivery.last_error
    failed = AuditEvent.objects.get(incident_id=incident.public_id, action="delivery.failed")
    assert "HTTP 502" in failed.payload["error"]


def test_worker_keeps_retrying_past_celerys_default_limit_on_the_documented_backoff(webhook_only, commander) -> None:
    # Five failures need five retries: Celery's default limit of 3 would leave the rest to the reconciler.
    with webhook_receiver([503, 503, 503, 503, 503, 200]) as receiver:
        webhook_only.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        with running_worker(name="hooks-many", concurrency=1, **_worker_env(receiver.url, attempts=8)) as worker:
            incident_declare(title="Vector index down", category="availability", by=commander)
            wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).exists(),
                timeout=60,
                what="the webhook to be delivered on the sixth try",
            )
            assert worker.poll() is None, _log("hooks-many")
    delivery = Delivery.objects.get()
    assert delivery.attempts == 6 and len(receiver.received) == 6
    gaps = [later.at - earlier.at for earlier, later in pairwise(receiver.received)]
    # WEBHOOK_BACKOFF_SECONDS=1, cap 2: the ceiling doubles from 1 s to the 2 s cap, and
    # equal jitter waits between half the ceiling and the whole of it.
    ceilings = [1, 2, 2, 2, 2]
    for attempt, (gap, ceiling) in enumerate(zip(gaps, ceilings, strict=True), start=1):
        assert ceiling / 2 - 0.05 <= gap <= ceiling + 3, f"wait after attempt {attempt}: {gap:.2f} s"
