"""The incident list on a phone: one block per incident, severity and status on screen.

At 390 px the list was a table scrolling sideways in its card, with the status column cut off at the
card's edge: the one fact a commander scans the list for.
"""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_incident_list_shows_severity_and_status_within_the_card_at_390_px(live_server, browser, settings) -> None:
    UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    IncidentFactory.create(kind="real", severity="SEV1", title="clinical-inference-eu error rate above 5 %")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "chris")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/incidents/")
    wrap = page.locator(".table-wrap").first
    sideways = wrap.evaluate("el => el.scrollWidth - el.clientWidth")
    assert sideways <= 0, f"the incident list scrolls {sideways} px sideways on a phone"
    card = wrap.bounding_box()
    status = page.locator("td[data-label='Status']").first.bounding_box()
    assert status["x"] + status["width"] <= card["x"] + card["width"] + 0.5
    page.screenshot(path=str(settings.VAR_DIR / "e2e-incident-list-390.png"), full_page=True)
