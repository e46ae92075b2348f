"""Deleting schedules, layers, overrides, policies and levels from the On call page.

A delete asks to confirm first; it is refused beside the item when it would leave an open page reaching
no one or a policy pointing nowhere; every deletion is on the audit log; only commanders may delete.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Page, Schedule
from incidents.paging.schedules import level_add, override_add

pytestmark = pytest.mark.django_db


def delete(client, kind: str, pk: int, *, confirm: bool = True, htmx: bool = True):
    data = {"confirm": "yes"} if confirm else {}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("paging:setup-delete", args=[kind, pk]), data, **headers)


def test_the_first_post_only_asks_to_confirm(client_for, commander, schedule) -> None:
    response = delete(client_for(commander), "schedule", schedule.pk, confirm=False)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="board">')
    assert "Delete schedule “ML platform on call” (team ml-platform) with its layers and overrides?" in body
    assert 'name="confirm" value="yes"' in body
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_a_confirmed_schedule_delete_removes_it_and_is_audited(client_for, commander, schedule) -> None:
    response = delete(client_for(commander), "schedule", schedule.pk)
    assert "Deleted schedule “ML platform on call”" in response.content.decode()
    assert not Schedule.objects.exists() and not Layer.objects.exists()
    event = AuditEvent.objects.get(action="paging.schedule_deleted")
    assert event.actor == commander and event.payload == {"team": "ml-platform", "name": "ML platform on call"}


def test_a_schedule_a_policy_pages_is_refused_beside_it(client_for, commander, schedule, sev1_policy) -> None:
    response = delete(client_for(commander), "schedule", schedule.pk)
    body = response.content.decode()
    assert "Not deleted: The SEV1 escalation policy pages ML platform on call" in body
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert not AuditEvent.objects.filter(action="paging.schedule_deleted").exists()
    plain = delete(client_for(commander), "schedule", schedule.pk, htmx=False)
    assert plain.status_code == 409


def test_the_last_layer_is_refused_while_a_page_waits_on_it(
    client_for, commander, schedule, sev1_policy, paged_incident
) -> None:
    Page.objects.create(incident=paged_incident, policy=sev1_policy, team="ml-platform")
    layer = schedule.layers.get()
    body = delete(client_for(commander), "layer", layer.pk).content.decode()
    assert "would leave nobody on call in ML platform on call while" in body
    assert paged_incident.reference in body
    assert Layer.objects.filter(pk=layer.pk).exists()
    # With an override covering now, the layer can go.
    now = timezone.now()
    override_add(
        schedule=schedule, user=commander, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=2)
    )
    assert "Deleted layer “weekly”" in delete(client_for(commander), "layer", layer.pk).content.decode()
    assert AuditEvent.objects.get(action="paging.layer_deleted").payload == {"team": "ml-platform", "layer": "weekly"}


def test_an_override_delete_is_audited(client_for, commander, schedule, oncall2) -> None:
    now = timezone.now()
    override = override_add(schedule=schedule, user=oncall2, starts_at=now, ends_at=now + timedelta(hours=1))
    assert (
        "Delete the override of"
        in delete(client_for(commander), "override", override.pk, confirm=False).content.decode()
    )
    delete(client_for(commander), "override", override.pk)
    assert not Override.objects.exists()
    assert AuditEvent.objects.get(action="paging.override_deleted").payload["user_id"] == oncall2.pk


def test_a_policy_with_an_open_page_or_a_hand_over_to_it_is_refused(
    client_for, commander, sev1_policy, paged_incident
) -> None:
    page = Page.objects.create(incident=paged_incident, policy=sev1_policy, team="ml-platform")
    body = delete(client_for(commander), "policy", sev1_policy.pk).content.decode()
    assert f"{paged_incident.reference} is being paged with this policy" in body
    page.status = "acknowledged"
    page.save()
    sev2 = EscalationPolicy.objects.create(severity="SEV2")
    level_add(policy=sev2, then_policy=sev1_policy)
    body = delete(client_for(commander), "policy", sev1_policy.pk).content.decode()
    assert "The SEV2 policy hands over to SEV1" in body
    assert EscalationPolicy.objects.filter(pk=sev1_policy.pk).exists()
    delete(client_for(commander), "level", sev2.levels.get().pk)  # the only level: refused
    assert sev2.levels.exists()
    delete(client_for(commander), "policy", sev2.pk)
    delete(client_for(commander), "policy", sev1_policy.pk)
    assert not EscalationPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="paging.policy_deleted").count() == 2


def test_a_level_delete_moves_later_levels_up_and_the_only_level_is_refused(
    client_for, commander, sev1_policy, oncall
) -> None:
    level_add(policy=sev1_policy, user=oncall, wait_minutes=3)
    first = sev1_policy.levels.get(position=1)
    delete(client_for(commander), "level", first.pk)
    assert list(sev1_policy.levels.order_by("position").values_list("position", "user")) == [
        (1, sev1_policy.levels.get(position=1).user_id),
        (2, oncall.pk),
    ]
    assert AuditEvent.objects.get(action="paging.level_deleted").payload == {"severity": "SEV1", "position": 1}
    for level in list(sev1_policy.levels.order_by("-position")):
        delete(client_for(commander), "level", level.pk)
    remaining = EscalationLevel.objects.filter(policy=sev1_policy)
    assert remaining.count() == 1
    body = delete(client_for(commander), "level", remaining.get().pk).content.decode()
    assert "only level: without it nobody would be paged" in body


def test_people_who_do_not_command_cannot_delete(client_for, oncall, viewer, schedule) -> None:
    for person in (oncall, viewer):
        assert delete(client_for(person), "schedule", schedule.pk).status_code in (403, 404)
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert delete(client_for(oncall), "nonsense", 1).status_code in (403, 404)


def test_an_unknown_kind_or_a_gone_item_is_404(client_for, commander) -> None:
    assert delete(client_for(commander), "nonsense", 1).status_code == 404
    assert delete(client_for(commander), "layer", 999999).status_code == 404
