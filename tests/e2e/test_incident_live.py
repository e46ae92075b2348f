"""A commander declares an incident in a real browser and watches its timeline update live."""

from __future__ import annotations

import time

import pytest

from dr_portal.accounts.models import Role
from incidents.models import Incident
from incidents.services import note_add
from tests.factories import AssetFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_declare_and_see_the_timeline_update_live(live_server, page) -> None:
    UserFactory.create(username="commander", first_name="Chris", role=Role.INCIDENT_COMMANDER, password="browser pw 1")
    oncall = UserFactory.create(username="oli", role=Role.ONCALL_ENGINEER)
    AssetFactory.create(name="fraud-model", tier=0)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "commander")
    page.fill("#id_password", "browser pw 1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("text=Declare an incident")
    page.fill("#id_title", "Fraud scores look wrong")
    page.select_option("#id_category", "integrity")
    page.select_option("#id_assets", label="fraud-model (tier 0)")
    page.click("button:has-text('Declare')")
    page.wait_for_selector("#incident-head")
    incident = Incident.objects.get()
    assert "Fraud scores look wrong" in page.inner_text("#incident-head")
    assert "SEV1" in page.inner_text("#incident-head")  # the tier-0 rule
    assert "Live" in page.inner_text("#timeline-poller")

    # Someone else writes to the timeline: it appears at the top within the 2 s poll.
    note_add(incident=incident, body="Oli: rolled back to v40", by=oncall)
    started = time.monotonic()
    page.wait_for_selector("#timeline-list li:first-child:has-text('rolled back to v40')", timeout=4000)
    assert time.monotonic() - started < 4

    # Our own note goes in through htmx without a page load.
    page.fill("#id_body", "Chris: paging the data team")
    page.click("button:has-text('Add note')")
    page.wait_for_selector("#timeline-list li:first-child:has-text('paging the data team')", timeout=4000)
    assert page.input_value("#id_body") == ""

    # Moving the incident on updates the header from the same poll.
    page.click("button:has-text('Investigating')")
    page.wait_for_selector("#incident-head .st-investigating")
    assert page.locator("#timeline-list li:has-text('Status declared → investigating')").count() == 1
