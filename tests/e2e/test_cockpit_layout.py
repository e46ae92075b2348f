"""Keyboard shortcuts and small screens in a real browser: ?, /, g i, a; the incident page at 390 and 1440 px."""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from tests.cockpit.conftest import waiting_step
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_keyboard_shortcuts_show_help_focus_search_and_jump(live_server, page) -> None:
    UserFactory.create(username="oli", role=Role.ONCALL_ENGINEER, password="browser password")
    _sign_in(page, live_server, "oli")
    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.keyboard.press("i")
    page.wait_for_url(f"{live_server.url}/incidents/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("a")  # typing in the search box is not a shortcut
    assert page.url == f"{live_server.url}/incidents/"
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("a")
    page.wait_for_url(f"{live_server.url}/approvals/")


def test_incident_page_fits_a_phone_and_the_runs_table_stays_in_its_card(
    live_server, browser, settings, tmp_path
) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    commander = UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    incident = IncidentFactory.create(
        kind="real", severity="SEV1", title="clinical-inference-eu error rate above 5 % on every replica in the region"
    )
    waiting_step(incident=incident, by=commander, quorum=2, title="Tell clinicians we are switching regions now")
    for width, height in ((390, 844), (1440, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _sign_in(page, live_server, "chris")
        page.goto(f"{live_server.url}/incidents/{incident.public_id}/")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width} px: the page is {overflow} px too wide"
        card = page.locator("#recovery").bounding_box()
        table = page.locator("#recovery .table-wrap").bounding_box()
        assert table["x"] + table["width"] <= card["x"] + card["width"] + 0.5
        assert "waiting for 2 of 2 on-call approvals" in page.locator("#incident-head").inner_text()
        if width == 390:
            assert not page.locator("#main-nav").is_visible(), "the nav folds into a menu on a phone"
            page.locator(".nav-toggle summary").click()
            assert page.locator("#main-nav").is_visible()
        context.close()
