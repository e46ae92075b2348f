"""Outbound notifications: who is emailed, how webhooks are signed, and what happens when sending fails."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core import mail

from dr_portal.audit.models import AuditEvent
from incidents.models import Delivery, DeliveryStatus
from incidents.services import delivery_attempt, incident_declare, role_assign
from incidents.services.outbound import backoff_seconds
from tests.incidents.webhook_server import webhook_receiver

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def no_webhooks(settings) -> None:
    settings.OUTBOUND_WEBHOOK_URLS = []


def send_all() -> None:
    for pk in Delivery.objects.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True):
        delivery_attempt(delivery_id=pk)


def test_declaring_emails_commanders_and_oncall(no_webhooks, commander, oncall, viewer, compliance) -> None:
    incident = incident_declare(title="Vector DB down", category="availability", by=oncall)
    send_all()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted([commander.email, oncall.email])
    assert message.subject == f"{incident.reference} declared: Vector DB down (SEV3)"
    assert f"/incidents/{incident.public_id}/" in message.body
    sent = AuditEvent.objects.get(incident_id=incident.public_id, action="delivery.sent")
    assert sent.payload["channel"] == "email"


def test_email_audience_is_configurable_per_role(no_webhooks, settings, commander, compliance) -> None:
    settings.NOTIFY_EMAIL = {**settings.NOTIFY_EMAIL, "declared": ["compliance_officer"]}
    incident_declare(title="Leak", category="confidentiality", by=commander)
    send_all()
    assert [m.to for m in mail.outbox] == [[compliance.email]]


def test_role_assignment_emails_the_assignee(no_webhooks, settings, commander, oncall) -> None:
    settings.NOTIFY_EMAIL = {**settings.NOTIFY_EMAIL, "declared": []}
    incident = incident_declare(title="Drift", category="drift", by=commander)
    role_assign(incident=incident, role="ops_lead", user=oncall, by=commander)
    send_all()
    assert [m.to for m in mail.outbox] == [[oncall.email]]
    assert "ops lead" in mail.outbox[0].subject


def test_webhook_is_signed_json(settings, commander) -> None:
    settings.NOTIFY_EMAIL = {key: [] for key in settings.NOTIFY_EMAIL}
    settings.OUTBOUND_WEBHOOK_SECRET = SECRET
    with webhook_receiver([204]) as receiver:
        settings.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        incident = incident_declare(title="GPU pool lost", category="compute_loss", by=commander)
        send_all()
    [got] = receiver.received
    stamp = got.headers["x-drp-timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-drp-signature"], expected)
    body = json.loads(got.body)
    assert body["event"] == "declared"
    assert body["incident"]["id"] == str(incident.public_id)
    assert got.headers["x-drp-delivery"] == body["delivery"]
    assert Delivery.objects.get().status == DeliveryStatus.SENT


def test_a_4xx_answer_fails_at_once_and_is_recorded(settings, commander) -> None:
    settings.NOTIFY_EMAIL = {key: [] for key in settings.NOTIFY_EMAIL}
    settings.OUTBOUND_WEBHOOK_SECRET = SECRET
    with webhook_receiver([410]) as receiver:
        settings.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        incident = incident_declare(title="GPU pool lost", category="compute_loss", by=commander)
        send_all()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "HTTP 410" in delivery.last_error
    failed = AuditEvent.objects.get(incident_id=incident.public_id, action="delivery.failed")
    assert "HTTP 410" in failed.payload["error"]


def test_a_5xx_answer_schedules_a_retry(settings, commander) -> None:
    settings.NOTIFY_EMAIL = {key: [] for key in settings.NOTIFY_EMAIL}
    settings.OUTBOUND_WEBHOOK_SECRET = SECRET
    with webhook_receiver([503]) as receiver:
        settings.OUTBOUND_WEBHOOK_URLS = [receiver.url]
        incident_declare(title="GPU pool lost", category="compute_loss", by=commander)
        delivery = Delivery.objects.get()
        attempt = delivery_attempt(delivery_id=delivery.pk)
    assert attempt.retry_in is not None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert "HTTP 503" in delivery.last_error


def test_backoff_doubles_with_jitter_up_to_the_cap(settings) -> None:
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 60
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        delays = [backoff_seconds(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        assert len(set(delays)) > 1  # jitter
