"""A person signs in with a real browser and sees the dashboard for their role."""

from __future__ import annotations

import pytest
from django.conf import settings

from dr_portal.accounts.models import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_commander_signs_in_and_is_greeted_with_their_role(live_server, page) -> None:
    UserFactory.create(
        username="commander", first_name="Chris", role=Role.INCIDENT_COMMANDER, password="browser password"
    )
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "commander")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.inner_text("h1") == "Good to see you, Chris."
    assert "Incident commander" in page.inner_text(".hero")
    nav = page.inner_text("nav.nav")
    assert "Approvals" in nav and "Audit" not in nav
    # htmx is loaded from our own static files under the strict CSP.
    assert page.evaluate("typeof window.htmx") == "object"
    page.screenshot(path=str(settings.VAR_DIR / "e2e-dashboard.png"), full_page=True)


def test_wrong_password_shows_the_error_in_the_browser(live_server, page) -> None:
    UserFactory.create(username="vic", role=Role.VIEWER, password="browser password")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "vic")
    page.fill("#id_password", "nope")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text(".alert-error")
