"""The timeline names paged people as others know them, for new events and for ones written with usernames."""

from __future__ import annotations

import json
import re

from django.test import Client
from django.urls import reverse

from dr_portal.accounts.models import User
from dr_portal.accounts.people import person_update
from dr_portal.accounts.services import token_issue
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append, audit_erase_person
from incidents.models import Incident
from incidents.paging.services import page_open
from incidents.services import action_item_add
from incidents.services.lifecycle import role_assign
from incidents.services.timeline import pin_set


def _timeline(client_for, user: User, incident: Incident) -> str:
    html: str = client_for(user).get(reverse("incidents:detail", args=[incident.public_id])).content.decode()
    return html


def test_the_paged_line_shows_the_display_name_and_keeps_usernames_out_of_the_public_payload(
    client_for, sev1_policy, paged_incident, commander, oncall
) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    assert page_open(incident=paged_incident) is not None
    html = _timeline(client_for, commander, paged_incident)
    assert "Paged Olivia Tanaka (level 1): SEV1 declared" in html
    assert "Paged oli " not in html
    event = AuditEvent.objects.get(incident_id=paged_incident.public_id, action="page.notified")
    assert json.loads(event.payload_json) == {
        "level": 1,
        "person_ids": [oncall.pk],
        "why": "SEV1 declared",
        "problem": "",
    }
    assert event.payload["usernames"] == ["oli"] and event.payload["people"] == ["Olivia Tanaka"]


def test_a_person_renamed_after_the_page_reads_with_the_name_they_have_now(
    client_for, sev1_policy, paged_incident, commander, oncall
) -> None:
    page_open(incident=paged_incident)
    person_update(user_id=oncall.pk, changes={"first_name": "Oona", "last_name": "Lind"}, by=None, via="test")
    assert "Paged Oona Lind (level 1)" in _timeline(client_for, commander, paged_incident)


def test_an_event_written_with_usernames_only_still_reads_with_display_names(
    client_for, paged_incident, commander, oncall, oncall2
) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    person_update(user_id=oncall2.pk, changes={"first_name": "", "last_name": ""}, by=None, via="test")
    audit_append(
        action="page.notified",
        system_actor="system:paging",
        incident_id=paged_incident.public_id,
        payload={"level": 2, "people": ["oli", "olga", "gone-person"], "why": "not acknowledged", "problem": ""},
    )
    html = _timeline(client_for, commander, paged_incident)
    # A known person by name; one without a name by username; an unknown username as it was written.
    assert "Paged Olivia Tanaka, olga, gone-person (level 2): not acknowledged" in html


def test_an_erased_person_is_not_named_again_on_the_paged_line(
    client_for, sev1_policy, paged_incident, commander, oncall, admin
) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    page_open(incident=paged_incident)
    audit_erase_person(user=oncall, by=admin, reason="Art. 17 request")
    html = _timeline(client_for, commander, paged_incident)
    assert "Paged [erased] (level 1): SEV1 declared" in html
    assert "Paged Olivia Tanaka" not in html


def test_a_delivery_to_one_persons_address_reads_with_their_name(client_for, paged_incident, commander, oncall) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    audit_append(
        action="delivery.sent",
        system_actor="system:notifier",
        incident_id=paged_incident.public_id,
        payload={"event": "page", "channel": "email", "recipients": [oncall.email, "ops@example.net"], "attempts": 1},
    )
    assert "Sent page email to Olivia Tanaka, ops@example.net" in _timeline(client_for, commander, paged_incident)


def test_role_and_action_item_lines_name_people_by_display_name(
    client_for, paged_incident, commander, oncall, oncall2
) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    person_update(user_id=oncall2.pk, changes={"first_name": "Olga", "last_name": "Berg"}, by=None, via="test")
    role_assign(incident=paged_incident, role="scribe", user=oncall, by=commander)
    role_assign(incident=paged_incident, role="scribe", user=oncall2, by=commander)
    action_item_add(incident=paged_incident, title="Pin the model", kind="preventive", owner=oncall, by=commander)
    html = _timeline(client_for, commander, paged_incident)
    assert "Olga Berg is now Scribe (relieving Olivia Tanaka)" in html
    assert "Olivia Tanaka is now Scribe" in html
    assert "Action item: Pin the model, owner Olivia Tanaka" in html
    assert "oli is now" not in html and "owner oli" not in html


def test_the_pinned_list_and_the_api_word_an_old_paged_event_as_the_timeline_does(
    client_for, paged_incident, commander, oncall
) -> None:
    person_update(user_id=oncall.pk, changes={"first_name": "Olivia", "last_name": "Tanaka"}, by=None, via="test")
    event = audit_append(
        action="page.notified",
        system_actor="system:paging",
        incident_id=paged_incident.public_id,
        payload={"level": 1, "people": ["oli"], "why": "SEV1 declared", "problem": ""},
    )
    pin_set(incident=paged_incident, seq=event.seq, pinned=True, by=commander)
    html = _timeline(client_for, commander, paged_incident)
    pinned = re.search(r'<ul class="pinned-list">(.*?)</ul>', html, re.S)
    assert pinned is not None and "Paged Olivia Tanaka (level 1): SEV1 declared" in pinned.group(1)
    assert "Paged oli" not in html
    token = token_issue(user=commander, name="test", mfa_verified=False).raw
    body = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(f"/api/v1/incidents/{paged_incident.public_id}/timeline/")
    texts = {e["seq"]: e["text"] for e in body.json()["entries"]}
    assert texts[event.seq] == "Paged Olivia Tanaka (level 1): SEV1 declared"
