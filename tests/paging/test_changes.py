"""A severity change pages the new severity's on-call; "Escalate now" notifies the next level at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.models import Delivery, Incident
from incidents.paging.changes import page_escalate_now, page_severity_changed
from incidents.paging.models import EscalationPolicy, Page, PageStatus
from incidents.paging.schedules import level_add
from incidents.paging.services import PageRefused, page_acknowledge, page_open
from incidents.services.lifecycle import incident_set_severity


@pytest.fixture(autouse=True)
def private_checkpoints(settings: Any, tmp_path: Path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.SITE_URL = "http://portal.test"


@pytest.fixture
def sev2_policy(commander: User) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(severity="SEV2")
    level_add(policy=policy, user=commander, wait_minutes=15)
    return policy


def _events(incident: Incident, action: str) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(incident_id=incident.public_id, action=action).order_by("seq")
    return [json.loads(row.payload_json) for row in rows]


def test_raising_the_severity_queues_a_page_and_pages_the_new_policys_on_call(
    sev1_policy, paged_incident, oncall, commander, broker_queue, django_capture_on_commit_callbacks
) -> None:
    Incident.objects.filter(pk=paged_incident.pk).update(severity="SEV3")
    paged_incident.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        incident_set_severity(incident=paged_incident, severity="SEV1", rule="Card payments down", by=commander)
    assert ("paging.severity_changed", [paged_incident.pk, "SEV3"]) in broker_queue.sent()
    page = page_severity_changed(incident=paged_incident, previous="SEV3")
    assert page is not None and page.policy == sev1_policy and page.notified == [oncall.pk]
    event = _events(paged_incident, "page.severity_changed")
    assert event == [{"from": "SEV3", "to": "SEV1", "team": "ml-platform", "level": 1}]
    email = Delivery.objects.get(event="page_severity_changed", channel="email")
    assert email.recipients == [oncall.email] and email.payload["page"]["why"] == "severity changed SEV3 → SEV1"


def test_an_open_page_moves_to_the_new_severitys_policy(sev1_policy, sev2_policy, paged_incident, commander) -> None:
    page = page_open(incident=paged_incident)
    assert page is not None and page.level == 1
    incident_set_severity(incident=paged_incident, severity="SEV2", rule="Fallback scoring holds", by=commander)
    moved = page_severity_changed(incident=paged_incident, previous="SEV1")
    assert moved is not None and moved.pk == page.pk, "still one open page"
    assert moved.policy == sev2_policy and moved.notified == [commander.pk]
    assert Page.objects.filter(incident=paged_incident).count() == 1


def test_lowering_after_acknowledgement_pages_nobody_but_raising_again_does(
    sev1_policy, sev2_policy, paged_incident, oncall, commander
) -> None:
    page = page_open(incident=paged_incident)
    assert page is not None
    page_acknowledge(page=page, by=oncall, via="page")
    incident_set_severity(incident=paged_incident, severity="SEV2", rule="Contained", by=commander)
    assert page_severity_changed(incident=paged_incident, previous="SEV1") is None
    assert _events(paged_incident, "page.severity_not_paged")[0]["why"].startswith("Severity lowered")
    incident_set_severity(incident=paged_incident, severity="SEV1", rule="Spreading again", by=commander)
    again = page_severity_changed(incident=paged_incident, previous="SEV2")
    assert again is not None and again.pk != page.pk and again.status == PageStatus.TRIGGERED


def test_no_policy_for_the_new_severity_is_said_on_the_timeline(sev1_policy, paged_incident, commander) -> None:
    incident_set_severity(incident=paged_incident, severity="SEV4", rule="Cosmetic", by=commander)
    assert page_severity_changed(incident=paged_incident, previous="SEV1") is None
    assert _events(paged_incident, "page.severity_not_paged") == [
        {"from": "SEV1", "to": "SEV4", "why": "No escalation policy for SEV4; nobody was paged."}
    ]


def test_escalate_now_from_the_page_notifies_the_next_level_then_says_there_is_none(
    client_for, sev1_policy, paged_incident, oncall, commander
) -> None:
    page = page_open(incident=paged_incident)
    assert page is not None
    client = client_for(oncall)
    url = reverse("paging:page", args=[page.public_id])
    assert "Escalate now" in client.get(url).content.decode()
    assert client.post(reverse("paging:page-escalate", args=[page.public_id])).status_code == 302
    page.refresh_from_db()
    assert page.level == 2 and page.notified == [commander.pk] and page.status == PageStatus.TRIGGERED
    escalated = AuditEvent.objects.get(incident_id=paged_incident.public_id, action="page.escalated")
    assert escalated.actor == oncall and json.loads(escalated.payload_json) == {"level": 2, "manual": True}
    assert Delivery.objects.filter(event="page_escalated", recipients=[commander.email]).exists()
    client.post(reverse("paging:page-escalate", args=[page.public_id]))
    html = client.get(url).content.decode()
    assert "Level 2 is the last level of the SEV1 escalation policy" in html
    assert Page.objects.get(pk=page.pk).level == 2


def test_escalating_an_acknowledged_page_is_refused(sev1_policy, paged_incident, oncall) -> None:
    page = page_open(incident=paged_incident)
    assert page is not None
    page_acknowledge(page=page, by=oncall, via="page")
    with pytest.raises(PageRefused, match="acknowledged; escalation has stopped"):
        page_escalate_now(page=page, by=oncall)


def test_the_incident_timeline_says_who_was_paged_after_a_severity_change(
    client_for, sev1_policy, paged_incident, commander, oncall
) -> None:
    Incident.objects.filter(pk=paged_incident.pk).update(severity="SEV2")
    incident_set_severity(incident=paged_incident, severity="SEV1", rule="Card payments down", by=commander)
    page_severity_changed(incident=paged_incident, previous="SEV2")
    html = client_for(commander).get(reverse("incidents:detail", args=[paged_incident.public_id])).content.decode()
    assert "Severity SEV2 → SEV1: paging the SEV1 on-call of ml-platform" in html
    assert f"Paged {oncall.get_full_name()} (level 1): severity changed SEV2 → SEV1" in html
