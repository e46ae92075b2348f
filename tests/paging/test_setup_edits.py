"""Editing schedules, layers, overrides, policies and levels from the On call page: the form opens beside
its item, a refusal shows beside its field, every change is audited with what changed, commanders only."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.paging.models import Layer, Page
from incidents.paging.schedules import layer_add, override_add

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def field_error(page: str, form: str, field: str) -> str:
    found = re.search(rf'<ul class="errorlist" id="{form}_{field}_error">(.*?)</ul>', page, re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def edit_url(kind: str, pk: int) -> str:
    return reverse("paging:setup-edit", args=[kind, pk])


def stamp(at) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def test_the_edit_form_opens_beside_the_item_with_its_values(client_for, commander, schedule) -> None:
    body = client_for(commander).get(edit_url("schedule", schedule.pk), **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="board">')
    assert 'id="edit_schedule_name"' in body and 'value="ML platform on call"' in body


def test_a_schedule_is_renamed_and_audited(client_for, commander, schedule) -> None:
    body = (
        client_for(commander).post(edit_url("schedule", schedule.pk), {"name": "ML on call"}, **HTMX).content.decode()
    )
    assert "Schedule renamed “ML on call”." in body
    schedule.refresh_from_db()
    assert schedule.name == "ML on call"
    event = AuditEvent.objects.get(action="paging.schedule_changed")
    assert event.actor == commander
    assert event.payload == {"team": "ml-platform", "name": {"from": "ML platform on call", "to": "ML on call"}}
    blank = client_for(commander).post(edit_url("schedule", schedule.pk), {"name": "  "}, **HTMX).content.decode()
    assert field_error(blank, "edit_schedule", "name")


def test_ending_a_layer_makes_room_and_an_overlapping_end_is_refused_beside_it(
    client_for, commander, schedule, oncall, oncall2
) -> None:
    weekly = schedule.layers.get()
    later = timezone.now() + timedelta(days=30)
    data = {"name": "weekly", "members": [oncall2.pk, oncall.pk], "shift_hours": 24, "ends_at": stamp(later)}
    response = client_for(commander).post(edit_url("layer", weekly.pk), data, **HTMX)
    assert "Layer “weekly” saved." in response.content.decode()
    weekly.refresh_from_db()
    assert weekly.members == [oncall2.pk, oncall.pk] and weekly.shift_hours == 24 and weekly.ends_at is not None
    event = AuditEvent.objects.get(action="paging.layer_changed")
    assert event.payload["shift_hours"] == {"from": 168, "to": 24} and "ends_at" in event.payload
    nxt = layer_add(schedule=schedule, name="next", members=[oncall.pk], starts_at=later + timedelta(days=1))
    assert nxt.pk
    overlapping = {**data, "ends_at": stamp(later + timedelta(days=5))}
    body = client_for(commander).post(edit_url("layer", weekly.pk), overlapping, **HTMX).content.decode()
    assert "Would overlap layer “next”" in field_error(body, "edit_layer", "ends_at")
    weekly.refresh_from_db()
    assert weekly.ends_at is not None and weekly.ends_at < nxt.starts_at


def test_a_layer_change_leaving_an_open_page_with_nobody_is_refused(
    client_for, commander, schedule, sev1_policy, paged_incident, oncall
) -> None:
    Page.objects.create(incident=paged_incident, policy=sev1_policy, team="ml-platform")
    weekly = schedule.layers.get()
    data = {
        "name": "weekly",
        "members": [oncall.pk],
        "shift_hours": 168,
        "ends_at": stamp(weekly.starts_at + timedelta(minutes=1)),
    }
    body = client_for(commander).post(edit_url("layer", weekly.pk), data, **HTMX).content.decode()
    assert "would leave nobody on call in ML platform on call" in body
    weekly.refresh_from_db()
    assert weekly.ends_at is None and not AuditEvent.objects.filter(action="paging.layer_changed").exists()


def test_an_override_is_moved_and_a_clash_is_refused(client_for, commander, schedule, oncall, oncall2) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    first = override_add(schedule=schedule, user=oncall, starts_at=now, ends_at=now + timedelta(hours=2))
    override_add(schedule=schedule, user=oncall2, starts_at=now + timedelta(hours=5), ends_at=now + timedelta(hours=6))
    moved = {"starts_at": stamp(now + timedelta(hours=1)), "ends_at": stamp(now + timedelta(hours=3))}
    assert "saved" in client_for(commander).post(edit_url("override", first.pk), moved, **HTMX).content.decode()
    first.refresh_from_db()
    assert first.ends_at == now + timedelta(hours=3)
    assert AuditEvent.objects.get(action="paging.override_changed").payload["user_id"] == oncall.pk
    clash = {"starts_at": stamp(now + timedelta(hours=4)), "ends_at": stamp(now + timedelta(hours=7))}
    body = client_for(commander).post(edit_url("override", first.pk), clash, **HTMX).content.decode()
    assert f"Overlaps the override of {oncall2.get_full_name()}" in field_error(body, "edit_override", "starts_at")
    backwards = {"starts_at": stamp(now + timedelta(hours=4)), "ends_at": stamp(now + timedelta(hours=1))}
    body = client_for(commander).post(edit_url("override", first.pk), backwards, **HTMX).content.decode()
    assert "must end after it starts" in field_error(body, "edit_override", "ends_at")


def test_policy_and_level_timings_are_edited_and_audited(client_for, commander, sev1_policy) -> None:
    client = client_for(commander)
    assert client.post(edit_url("policy", sev1_policy.pk), {"repeat_minutes": 3}).status_code == 302
    sev1_policy.refresh_from_db()
    assert sev1_policy.repeat_minutes == 3
    level = sev1_policy.levels.get(position=2)
    assert client.post(edit_url("level", level.pk), {"wait_minutes": 20}).status_code == 302
    level.refresh_from_db()
    assert level.wait_minutes == 20
    assert AuditEvent.objects.get(action="paging.level_changed").payload == {
        "severity": "SEV1",
        "position": 2,
        "wait_minutes": {"from": 10, "to": 20},
    }
    bad = client.post(edit_url("level", level.pk), {"wait_minutes": 0})
    assert bad.status_code == 400 and field_error(bad.content.decode(), "edit_level", "wait_minutes")


def test_people_who_do_not_command_cannot_edit(client_for, oncall, viewer, schedule) -> None:
    for person in (oncall, viewer):
        assert client_for(person).post(edit_url("schedule", schedule.pk), {"name": "X"}).status_code in (403, 404)
        assert client_for(person).get(edit_url("schedule", schedule.pk)).status_code in (403, 404)
    schedule.refresh_from_db()
    assert schedule.name == "ML platform on call"


def test_a_new_layer_keeps_the_rotation_in_the_order_chosen(client_for, commander, oncall, oncall2) -> None:
    client = client_for(commander)
    client.post(reverse("paging:schedule-new"), {"team": "data", "name": "Data on call"})
    schedule_pk = client.get(reverse("paging:index")).context["schedules"][0].schedule.pk
    start = stamp(timezone.now())
    data = {"schedule": schedule_pk, "name": "daily", "members": [oncall2.pk, oncall.pk], "starts_at": start,
            "shift_hours": 24}  # fmt: skip
    assert client.post(reverse("paging:layer-new"), data).status_code == 302
    assert Layer.objects.get(name="daily").members == [oncall2.pk, oncall.pk]
