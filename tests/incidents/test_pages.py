"""Incident pages through HTTP: a commander runs an incident from declaration to a signed-off review."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.models import ActionItem, Incident, IncidentStatus
from incidents.services import incident_update_facts, note_add
from tests.factories import decide_mandatory_assessments

pytestmark = pytest.mark.django_db


def detail_url(incident: Incident, tail: str = "") -> str:
    return f"/incidents/{incident.public_id}/{tail}"


def follow_messages(response) -> str:
    return response.content.decode()


def test_commander_runs_an_incident_end_to_end_in_the_browser(client_for, commander, oncall, fraud_model) -> None:
    client = client_for(commander)
    page = client.post(
        "/incidents/declare/",
        {"title": "Fraud scores wrong", "category": "integrity", "assets": [fraud_model.pk], "take_command": "on"},
        follow=True,
    )
    incident = Incident.objects.get()
    assert page.redirect_chain[-1][0] == detail_url(incident)
    assert "Fraud scores wrong" in page.content.decode()
    client.post(detail_url(incident, "roles/"), {"role": "ops_lead", "user": oncall.pk})
    client.post(detail_url(incident, "notes/"), {"body": "Rolled back the model to v40"})
    for to in ("investigating", "mitigating", "recovering", "resolved"):
        client.post(detail_url(incident, "status/"), {"to": to})
    client.post(
        detail_url(incident, "action-items/"),
        {"title": "Add a canary for score drift", "kind": "preventive", "owner": oncall.pk, "critical": "on"},
    )
    item = ActionItem.objects.get()
    refused = client.post(detail_url(incident, "status/"), {"to": "closed"}, follow=True).content.decode()
    assert "open critical action item" in refused
    client_for(oncall).post(f"/incidents/action-items/{item.public_id}/status/", {"status": "done"})
    client.post(detail_url(incident, "review/"), {"root_cause": "A bad feature push", "went_well": "Fast rollback"})
    client.post(detail_url(incident, "review/sign-off/"))
    owed = client.post(detail_url(incident, "status/"), {"to": "closed"}, follow=True).content.decode()
    assert "cannot close before its mandatory assessments" in owed
    decide_mandatory_assessments(incident, commander)
    client.post(detail_url(incident, "status/"), {"to": "closed"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    assert incident.review.signed_off_by == commander
    actions = set(AuditEvent.objects.filter(incident_id=incident.public_id).values_list("action", flat=True))
    assert {
        "incident.declared",
        "incident.role_assigned",
        "incident.note_added",
        "incident.status_changed",
        "action_item.added",
        "action_item.status_changed",
        "review.updated",
        "review.signed_off",
    } <= actions
    closed = client.get(detail_url(incident)).content.decode()
    assert "the timeline is final" in closed and 'hx-trigger="every 2s' not in closed


def test_illegal_jump_from_the_browser_shows_the_refusal(client_for, commander, incident) -> None:
    page = client_for(commander).post(detail_url(incident, "status/"), {"to": "closed"}, follow=True).content.decode()
    assert "cannot go from declared to closed" in page
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.DECLARED


def test_role_for_a_viewer_is_refused_in_the_browser(client_for, commander, viewer, incident) -> None:
    page = (
        client_for(commander)
        .post(detail_url(incident, "roles/"), {"role": "scribe", "user": viewer.pk}, follow=True)
        .content.decode()
    )
    assert "vic is viewer" in page


def test_viewer_reads_but_cannot_write(client_for, viewer, incident) -> None:
    client = client_for(viewer)
    page = client.get(detail_url(incident)).content.decode()
    assert incident.title in page and "Add note" not in page
    assert client.post(detail_url(incident, "notes/"), {"body": "hi"}).status_code == 404
    assert client.post(detail_url(incident, "status/"), {"to": "investigating"}).status_code == 403


def test_oncall_writes_notes_but_does_not_command(client_for, oncall, incident) -> None:
    client = client_for(oncall)
    assert client.post(detail_url(incident, "notes/"), {"body": "looking"}).status_code == 302
    assert client.post(detail_url(incident, "status/"), {"to": "investigating"}).status_code == 403


def test_assigned_compliance_liaison_may_file_notifications(client_for, commander, compliance, incident) -> None:
    client_for(commander).post(detail_url(incident, "roles/"), {"role": "compliance_liaison", "user": compliance.pk})
    incident_update_facts(
        incident=incident,
        changes={
            "personal_data": True,
            "started_at": timezone.now() - timedelta(hours=4),
            "aware_at": timezone.now() - timedelta(hours=3),
        },
        by=commander,
    )
    response = client_for(compliance).post(
        f"/incidents/{incident.public_id}/notifications/",
        {
            "kind": "authority",
            "phase": "initial",
            "recipient": "Data Protection Commission",
            "channel": "portal",
            "reference": "DPC-2026-001",
            "sent_at": timezone.now().strftime("%Y-%m-%dT%H:%M"),
        },
        follow=True,
    )
    page = response.content.decode()
    assert "DPC-2026-001" in page and "filed in time" in page


def test_htmx_note_returns_a_fresh_form_and_asks_the_timeline_to_refresh(client_for, oncall, incident) -> None:
    response = client_for(oncall).post(detail_url(incident, "notes/"), {"body": "Scaling up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-refresh"
    assert response.content.decode().lstrip().startswith('<form id="note-form"')


def test_poll_returns_only_new_entries_and_stops_when_closed(client_for, oncall, commander, incident) -> None:
    client = client_for(oncall)
    newest = AuditEvent.objects.filter(incident_id=incident.public_id).order_by("-seq").first()
    assert newest is not None
    note = note_add(incident=incident, body="A fresh note", by=oncall)
    body = client.get(detail_url(incident, f"timeline/?after={newest.seq}"), HTTP_HX_REQUEST="true").content.decode()
    assert "A fresh note" in body and f"#{note.audit_seq}" in body
    assert f"after={note.audit_seq}" in body and 'hx-trigger="every 2s' in body
    assert "Fraud model serving" in body  # the header is swapped in too
    quiet = client.get(detail_url(incident, f"timeline/?after={note.audit_seq}"), HTTP_HX_REQUEST="true")
    assert "afterbegin:#timeline-list" not in quiet.content.decode()


def test_busy_timeline_pages_by_seq_and_filters_by_kind(client_for, oncall, incident) -> None:
    for i in range(210):
        note_add(incident=incident, body=f"note number {i}", by=oncall)
    client = client_for(oncall)
    page = client.get(detail_url(incident)).content.decode()
    shown = re.findall(r'class="seq" href="#e(\d+)"', page)
    assert len(shown) == 50
    assert "note number 209" in page and "note number 100" not in page
    oldest = min(int(s) for s in shown)
    more = client.get(detail_url(incident, f"timeline/?before={oldest}"), HTTP_HX_REQUEST="true").content.decode()
    assert "note number 159" in more and "note number 209" not in more
    assert "Show older entries" in more
    without_js = client.get(detail_url(incident) + f"?before={oldest}").content.decode()
    assert "note number 159" in without_js
    roles_only = client.get(detail_url(incident) + "?kind=roles").content.decode()
    assert "note number" not in roles_only and "is now Incident commander" in roles_only


def test_timeline_query_count_does_not_grow_with_entries(
    client_for, oncall, incident, django_assert_max_num_queries
) -> None:
    client = client_for(oncall)
    for i in range(5):
        note_add(incident=incident, body=f"n{i}", by=oncall)
    client.get(detail_url(incident))
    with django_assert_max_num_queries(40) as few:
        client.get(detail_url(incident))
    for i in range(100):
        note_add(incident=incident, body=f"m{i}", by=oncall)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(detail_url(incident))


def test_pin_shows_in_the_pinned_box(client_for, oncall, incident) -> None:
    client = client_for(oncall)
    note = note_add(incident=incident, body="Root cause found: stale features", by=oncall)
    client.post(detail_url(incident, "pins/"), {"seq": note.audit_seq, "pinned": "on"})
    page = client.get(detail_url(incident)).content.decode()
    assert 'class="pinned-list"' in page and f'href="#e{note.audit_seq}">#{note.audit_seq}</a>' in page


def test_dashboard_shows_active_incidents_with_clocks_and_my_items(client_for, commander, oncall, incident) -> None:
    now = timezone.now().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        incident_update_facts(
            incident=incident, changes={"personal_data": True, "aware_at": now - timedelta(hours=60)}, by=commander
        )
        client_for(commander).post(
            detail_url(incident, "action-items/"),
            {"title": "Patch the loader", "kind": "corrective", "owner": oncall.pk},
        )
        page = client_for(oncall).get("/").content.decode()
    assert incident.reference in page
    assert "GDPR Art. 33: due in 12 h" in page, re.findall(r"GDPR[^<]*", page)
    assert "Patch the loader" in page
    assert "Readiness" in page and "Recent drills" in page
    assert f"commander {commander.get_full_name()}" in page, "people by their display name"
