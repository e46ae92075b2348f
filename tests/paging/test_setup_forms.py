"""Schedules, layers, overrides, escalation policies and levels made from the On call page.

Each refusal the services make (a team with a schedule already, overlapping layers, a level with nobody
on call, a hand-over loop) shows next to the field it is about; every addition is on the audit log.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.paging.models import EscalationLevel, EscalationPolicy, Schedule
from incidents.paging.schedules import level_add

pytestmark = pytest.mark.django_db


def field_error(page: str, form: str, field: str) -> str:
    """The error list Django renders beside the field's input in one form (empty when it has none)."""
    found = re.search(rf'<ul class="errorlist" id="{form}_{field}_error">(.*?)</ul>', page, re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def test_a_commander_adds_a_schedule_and_it_is_audited(client_for, commander: User) -> None:
    response = client_for(commander).post(
        reverse("paging:schedule-new"), {"team": "ml-platform", "name": "ML platform on call"}
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get(team="ml-platform")
    event = AuditEvent.objects.get(action="paging.schedule_added")
    assert event.actor == commander and event.object_id == str(schedule.public_id)
    assert event.payload == {"team": "ml-platform", "name": "ML platform on call"}
    page = client_for(commander).get(reverse("paging:index")).content.decode()
    assert "ML platform on call" in page and "No rotation layer yet." in page


def test_a_second_schedule_for_a_team_is_refused_beside_the_team_field(client_for, commander, schedule) -> None:
    response = client_for(commander).post(reverse("paging:schedule-new"), {"team": "ml-platform", "name": "Another"})
    assert response.status_code == 400
    assert "Team ml-platform already has a schedule (“ML platform on call”)" in field_error(
        response.content.decode(), "schedule", "team"
    )
    assert Schedule.objects.count() == 1 and not AuditEvent.objects.filter(action="paging.schedule_added").exists()


def test_a_policy_per_severity_once(client_for, commander) -> None:
    client = client_for(commander)
    assert client.post(reverse("paging:policy-new"), {"severity": "SEV2", "repeat_minutes": 7}).status_code == 302
    assert EscalationPolicy.objects.get(severity="SEV2").repeat_minutes == 7
    again = client.post(reverse("paging:policy-new"), {"severity": "SEV2", "repeat_minutes": 5})
    assert again.status_code == 400
    assert "SEV2 already has an escalation policy" in field_error(again.content.decode(), "policy", "severity")
    bad = client.post(reverse("paging:policy-new"), {"severity": "SEV9", "repeat_minutes": 0})
    assert field_error(bad.content.decode(), "policy", "severity") and field_error(
        bad.content.decode(), "policy", "repeat_minutes"
    )
    assert EscalationPolicy.objects.count() == 1


def test_a_level_paging_a_schedule_with_nobody_on_call_is_refused_unless_confirmed(client_for, commander) -> None:
    empty = Schedule.objects.create(team="data", name="Data on call")
    policy = EscalationPolicy.objects.create(severity="SEV1")
    client = client_for(commander)
    form = {"policy": policy.pk, "schedule": empty.pk, "wait_minutes": 10}
    refused = client.post(reverse("paging:level-new"), form)
    assert refused.status_code == 400
    assert "Nobody is on call in Data on call now" in field_error(refused.content.decode(), "level", "schedule")
    assert not policy.levels.exists()
    confirmed = client.post(reverse("paging:level-new"), {**form, "nobody_on_call_ok": "on"})
    assert confirmed.status_code == 302
    level = EscalationLevel.objects.get(policy=policy)
    assert level.schedule == empty and level.position == 1
    event = AuditEvent.objects.get(action="paging.level_added")
    assert event.actor == commander
    assert event.payload == {"severity": "SEV1", "position": 1, "wait_minutes": 10, "schedule": "data"}
    # The page still warns: the policy reaches nobody until a layer covers now.
    assert "Nobody is on call in Data on call" in client.get(reverse("paging:index")).content.decode()


def test_a_hand_over_that_loops_is_refused_beside_its_field(client_for, commander, sev1_policy) -> None:
    sev2 = EscalationPolicy.objects.create(severity="SEV2")
    level_add(policy=sev2, then_policy=sev1_policy)
    response = client_for(commander).post(
        reverse("paging:level-new"), {"policy": sev1_policy.pk, "then_policy": sev2.pk, "wait_minutes": 5}
    )
    assert response.status_code == 400
    assert "Escalation loops: SEV1 → SEV2 → SEV1" in field_error(response.content.decode(), "level", "then_policy")
    assert sev1_policy.levels.count() == 2, "the looping level was not kept"
    itself = client_for(commander).post(
        reverse("paging:level-new"), {"policy": sev2.pk, "then_policy": sev2.pk, "wait_minutes": 5}
    )
    assert "cannot hand over to itself" in field_error(itself.content.decode(), "level", "then_policy")


def test_a_level_names_exactly_one_target(client_for, commander, schedule, oncall) -> None:
    policy = EscalationPolicy.objects.create(severity="SEV3")
    client = client_for(commander)
    both = client.post(
        reverse("paging:level-new"),
        {"policy": policy.pk, "schedule": schedule.pk, "user": oncall.pk, "wait_minutes": 5},
    )
    none = client.post(reverse("paging:level-new"), {"policy": policy.pk, "wait_minutes": 5})
    assert "Choose one" in field_error(both.content.decode(), "level", "user")
    assert "Choose one" in field_error(none.content.decode(), "level", "schedule")
    assert not policy.levels.exists()


def test_layers_and_overrides_from_the_page_are_audited(client_for, commander, schedule, oncall, oncall2) -> None:
    client = client_for(commander)
    start = timezone.now() + timedelta(days=400)
    layer = {
        "schedule": schedule.pk,
        "name": "next year",
        "members": [oncall2.pk, oncall.pk],
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "shift_hours": 24,
    }
    # The existing weekly layer is open-ended: a new layer overlaps it whenever it starts.
    refused = client.post(reverse("paging:layer-new"), layer)
    assert "Overlaps layer “weekly”" in field_error(refused.content.decode(), "layer", "starts_at")
    now = timezone.now()
    override = {
        "schedule": schedule.pk,
        "user": oncall2.pk,
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
    }
    assert client.post(reverse("paging:override-new"), override).status_code == 302
    event = AuditEvent.objects.get(action="paging.override_added")
    assert event.actor == commander and event.payload["user_id"] == oncall2.pk
    clash = client.post(reverse("paging:override-new"), override)
    assert f"Overlaps the override of {oncall2.get_full_name()}" in field_error(
        clash.content.decode(), "override", "starts_at"
    )


def test_htmx_answers_with_the_board_holding_the_refusal_or_the_fresh_lists(client_for, commander, schedule) -> None:
    client = client_for(commander)
    refused = client.post(
        reverse("paging:schedule-new"), {"team": "ml-platform", "name": "Again"}, HTTP_HX_REQUEST="true"
    )
    body = refused.content.decode()
    assert refused.status_code == 200 and body.lstrip().startswith('<div id="board">') and "<html" not in body
    assert "already has a schedule" in field_error(body, "schedule", "team")
    added = client.post(reverse("paging:policy-new"), {"severity": "SEV2", "repeat_minutes": 5}, HTTP_HX_REQUEST="true")
    body = added.content.decode()
    assert "SEV2 escalation policy added; add its first level next." in body
    assert re.search(r"<h3 class=\"small-head\">SEV2 ", body), "the policy list is drawn from fresh data"


def test_people_who_do_not_command_cannot_set_up_paging(client_for, oncall, viewer) -> None:
    for person in (oncall, viewer):
        response = client_for(person).post(reverse("paging:schedule-new"), {"team": "x", "name": "X"})
        assert response.status_code in (403, 404)
    assert not Schedule.objects.exists()
    assert "Set up paging" not in client_for(oncall).get(reverse("paging:index")).content.decode()
