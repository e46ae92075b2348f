"""The incident list on a phone: one block per incident, severity and status on screen.

At 390 px the list was a table scrolling sideways in its card, with the status column cut off at the
card's edge: the one fact a commander scans the list for.
"""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from tests.e2e.conftest import assert_within_card
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_incident_list_shows_severity_and_status_within_the_card_at_390_px(live_server, phone, settings) -> None:
    IncidentFactory.create(kind="real", severity="SEV1", title="clinical-inference-eu error rate above 5 %")
    page = phone(Role.INCIDENT_COMMANDER)
    page.goto(f"{live_server.url}/incidents/")
    assert_within_card(page, page.locator(".table-wrap").first, "td[data-label='Status']")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-incident-list-390.png"), full_page=True)
