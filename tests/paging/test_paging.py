"""Item 4: on-call paging — who is on call, pages, acknowledgement three ways, escalation, and bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from incidents.models import Delivery, Incident
from incidents.paging.links import ack_url
from incidents.paging.models import EscalationPolicy, Page, PageStatus
from incidents.paging.schedules import layer_add, level_add, oncall_at, override_add, policy_problems
from incidents.paging.services import page_acknowledge, page_open, pages_escalate
from incidents.services.outbound import delivery_attempt

pytestmark = pytest.mark.django_db


def _opened(incident: Incident) -> Page:
    page = page_open(incident=incident)
    assert page is not None, "a page is opened"
    return page


def test_rotation_hands_off_each_shift_and_an_override_wins(schedule, oncall, oncall2, commander) -> None:
    now = timezone.now()
    assert oncall_at(schedule=schedule, at=now) == oncall
    assert oncall_at(schedule=schedule, at=now + timedelta(days=7)) == oncall2
    assert oncall_at(schedule=schedule, at=now + timedelta(days=14)) == oncall
    override_add(schedule=schedule, user=commander, starts_at=now, ends_at=now + timedelta(hours=2))
    assert oncall_at(schedule=schedule, at=now + timedelta(minutes=5)) == commander


def test_overlapping_layers_and_overrides_are_refused_with_the_reason(schedule, oncall, commander) -> None:
    with pytest.raises(ValidationError, match="Overlaps layer “weekly”"):
        layer_add(schedule=schedule, name="nights", members=[oncall.pk], starts_at=timezone.now())
    now = timezone.now()
    override_add(schedule=schedule, user=commander, starts_at=now, ends_at=now + timedelta(hours=2))
    with pytest.raises(ValidationError, match="Overlaps the override"):
        override_add(
            schedule=schedule, user=oncall, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3)
        )


def test_escalation_loop_is_refused_and_nobody_on_call_is_warned(schedule, sev1_policy) -> None:
    sev2 = EscalationPolicy.objects.create(severity="SEV2")
    level_add(policy=sev2, then_policy=sev1_policy)
    with pytest.raises(ValidationError, match="Escalation loops: SEV1 → SEV2 → SEV1"):
        level_add(policy=sev1_policy, then_policy=sev2)
    assert sev1_policy.levels.count() == 2, "the looping level was not kept"
    later = timezone.now() - timedelta(hours=2)  # before the rotation starts: nobody on call
    problems = policy_problems(policy=sev1_policy, at=later)
    assert any("Nobody is on call in ML platform on call" in p.message for p in problems)


def test_sev1_pages_the_on_call_with_a_human_email_and_a_routable_webhook(
    sev1_policy, paged_incident, oncall, settings
) -> None:
    settings.OUTBOUND_WEBHOOK_URLS = ["http://127.0.0.1:9/hook"]
    page = _opened(paged_incident)
    assert page is not None and page.team == "ml-platform" and page.notified == [oncall.pk]
    email = Delivery.objects.get(event="page", channel="email")
    assert email.recipients == [oncall.email]
    delivery_attempt(delivery_id=email.pk)
    body = mail.outbox[0].body
    assert "you are on call and this needs you: SEV1 declared" in body
    assert "Acknowledge (one click" in body and "/paging/ack/" in body
    assert "{" not in body, "no raw Python dicts in a message for people"
    hook = Delivery.objects.get(event="page", channel="webhook")
    assert hook.payload["incident"]["assets"] == ["fraud-model"]
    assert hook.payload["incident"]["teams"] == ["ml-platform"] and hook.payload["page"]["team"] == "ml-platform"
    assert page_open(incident=paged_incident) is None, "one open page per incident"


def test_unacknowledged_page_escalates_then_renotifies_until_acknowledged(
    sev1_policy, paged_incident, commander
) -> None:
    page = _opened(paged_incident)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        pages_escalate()
    page.refresh_from_db()
    assert page.level == 2 and page.notified == [commander.pk]
    with time_machine.travel(timezone.now() + timedelta(minutes=22)):
        pages_escalate()
    page.refresh_from_db()
    assert page.level == 2 and page.notifications == 3, "the last level is notified again"
    page_acknowledge(page=page, by=commander, via="page")
    with time_machine.travel(timezone.now() + timedelta(minutes=60)):
        assert pages_escalate() == []


def test_ack_from_the_email_link_then_again_is_a_clear_error(client, sev1_policy, paged_incident, oncall) -> None:
    page = _opened(paged_incident)
    url = ack_url(page_id=str(page.public_id), user_id=oncall.pk).removeprefix("http://portal.test")
    assert "You are acknowledging as" in client.get(url).content.decode(), "GET asks; a link scanner acks nothing"
    assert client.post(url).status_code == 200
    page.refresh_from_db()
    assert page.status == PageStatus.ACKNOWLEDGED and page.acknowledged_by == oncall
    assert page.acknowledged_via == "email link"
    again = client.post(url)
    assert again.status_code == 409 and "Already acknowledged by" in again.content.decode()


def test_expired_and_altered_links_say_so(client, sev1_policy, paged_incident, oncall, settings) -> None:
    page = _opened(paged_incident)
    url = ack_url(page_id=str(page.public_id), user_id=oncall.pk).removeprefix("http://portal.test")
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.PAGING_ACK_LINK_MINUTES + 1)):
        expired = client.post(url)
    assert expired.status_code == 410 and "This link has expired." in expired.content.decode()
    altered = client.post(url.rstrip("/") + "x/")
    assert altered.status_code == 400 and "not valid" in altered.content.decode()
    assert Page.objects.get(pk=page.pk).status == PageStatus.TRIGGERED


def test_ack_from_the_page_and_the_api(client_for, sev1_policy, paged_incident, oncall, oncall2) -> None:
    page = _opened(paged_incident)
    web = client_for(oncall)
    html = web.get(reverse("paging:index")).content.decode()
    assert paged_incident.reference in html and "Acknowledge" in html
    api = client_for(oncall2)
    response = api.post(reverse("api:page-acknowledge", args=[page.public_id]))
    assert response.status_code == 200 and response.json()["acknowledged_via"] == "api"
    conflict = api.post(reverse("api:page-acknowledge", args=[page.public_id]))
    assert conflict.status_code == 409
    web.post(reverse("paging:page-ack", args=[page.public_id]))
    assert "Already acknowledged by" in web.get(reverse("paging:page", args=[page.public_id])).content.decode()


def test_nobody_on_call_is_shown_on_the_page_not_dropped(client_for, commander, paged_incident, schedule) -> None:
    policy = EscalationPolicy.objects.create(severity="SEV1")
    level_add(policy=policy, schedule=schedule)
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        page = _opened(paged_incident)
    assert page is not None and "nobody is on call in ML platform on call" in page.problem
    html = client_for(commander).get(reverse("paging:index")).content.decode()
    assert "nobody is on call in ML platform on call" in html


def test_bad_layer_from_the_form_shows_the_error(client_for, commander, schedule, oncall) -> None:
    response = client_for(commander).post(
        reverse("paging:layer-new"),
        {
            "schedule": schedule.pk,
            "name": "nights",
            "members": [oncall.pk],
            "starts_at": "2030-01-01T00:00",
            "shift_hours": 12,
        },
    )
    assert response.status_code == 400
    assert re.search(r"Overlaps layer “weekly”", response.content.decode())


def test_delivery_log_replays_a_failed_delivery(client_for, commander, sev1_policy, paged_incident) -> None:
    page_open(incident=paged_incident)
    delivery = Delivery.objects.get(event="page", channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=5, last_error="mail server down")
    client = client_for(commander)
    assert "mail server down" in client.get(reverse("paging:deliveries")).content.decode()
    client.post(reverse("paging:delivery-replay", args=[delivery.public_id]))
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
