"""People pickers are searchable, and the role picker starts on someone who may hold the role."""

from __future__ import annotations

import re

from django.urls import reverse

from dr_portal.accounts.models import Role
from tests.factories import UserFactory


def _select(html: str, select_id: str) -> str:
    start = html.index(f'id="{select_id}"')
    return html[html.rfind("<select", 0, start) : html.index("</select>", start)]


def test_role_picker_defaults_to_an_eligible_person_not_the_first_listed(client_for, commander, sev1) -> None:
    UserFactory.create(username="aaron", first_name="Aaron", last_name="Able", role=Role.ONCALL_ENGINEER)
    html = client_for(commander).get(reverse("incidents:detail", args=[sev1.public_id])).content.decode()
    picker = _select(html, "role-person")
    assert "Aaron Able" in picker, "an on-call engineer may be scribe, so is listed first"
    chosen = re.findall(r'<option value="(\d+)" data-roles="([^"]*)"[^>]*\sselected>', picker)
    assert chosen == [(str(commander.pk), "commander deputy scribe comms_lead ops_lead ai_owner")]
    assert 'data-searchable="Type to filter people"' in picker


def test_people_selects_on_incident_and_paging_forms_are_searchable(client_for, commander, sev1) -> None:
    client = client_for(commander)
    incident = client.get(reverse("incidents:detail", args=[sev1.public_id])).content.decode()
    assert 'data-searchable="Type to filter people"' in _select(incident, "id_owner")
    paging = client.get(reverse("paging:index")).content.decode()
    assert 'data-searchable="Type to filter people"' in _select(paging, "override_user")
    assert 'data-searchable="Type to filter people"' in _select(paging, "layer_members")
    assert 'data-searchable="Type to filter people"' in _select(paging, "level_user")
