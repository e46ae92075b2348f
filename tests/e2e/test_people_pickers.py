"""Searchable people pickers in a real browser: type to narrow, the role decides who is offered."""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from incidents.models import RoleAssignment
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_type_to_find_a_person_for_a_role_and_assign_them(live_server, page, settings, tmp_path) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    aaron = UserFactory.create(username="aaron", first_name="Aaron", last_name="Able", role=Role.ONCALL_ENGINEER)
    UserFactory.create(username="olga", first_name="Olga", last_name="Oak", role=Role.ONCALL_ENGINEER)
    incident = IncidentFactory.create(kind="real", severity="SEV1", title="Fraud scoring down")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "chris")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/incidents/{incident.public_id}/")
    box = page.locator('input[data-filter-select="role-person"]')
    box.fill("aaron")
    assert page.locator("#role-person").input_value() != str(aaron.pk), "Aaron may not command"
    page.select_option('select[name="role"]', "scribe")
    assert page.locator("#role-person").input_value() == str(aaron.pk), "the one match is chosen"
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('#role-person option')).filter(o => !o.hidden).length"
    )
    assert visible == 1
    page.locator("#roles button[value=assign]").click()
    page.wait_for_load_state()
    held = RoleAssignment.objects.filter(incident=incident, role="scribe", relieved_at__isnull=True)
    assert held.get().user == aaron
