"""A compliance officer checks the chain and narrows the log in a real browser."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from dr_portal.accounts.models import Role
from dr_portal.audit.services import audit_append
from dr_portal.audit.verify import verify_and_record
from tests.e2e.conftest import assert_within_card
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_compliance_officer_sees_a_green_banner_and_filters_with_htmx(live_server, page) -> None:
    UserFactory.create(username="cora", role=Role.COMPLIANCE_OFFICER, password="browser password")
    for n in range(3):
        audit_append(action="backup.completed", system_actor="system:worker", payload={"n": n})
    audit_append(action="step.approved", system_actor="system:test", payload={"step": 1})
    verify_and_record(source="test")

    page.goto(f"{live_server.url}/accounts/login/?next=/audit/")
    page.fill("#id_username", "cora")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/audit/")
    assert "Chain intact." in page.inner_text("#chain-state")
    assert page.locator("#results tbody tr").count() == 5  # and cora's own sign-in

    page.fill("#id_action", "step.")
    page.press("#id_action", "Enter")
    page.wait_for_url("**action=step.**")
    expect(page.locator("#results tbody tr")).to_have_count(1)  # a locator wait: the CSP forbids evaluated strings
    assert page.locator("#results").count() == 1  # swapped in place, not nested
    assert "step.approved" in page.inner_text("#results tbody")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-audit.png"), full_page=True)


def test_on_a_phone_each_event_is_a_card_with_what_happened_in_view(live_server, phone) -> None:
    """At 390 px the Action column was off-screen, to the right of a table wider than the phone."""
    for n in range(3):
        audit_append(action="backup.failed", system_actor="system:worker", payload={"error": f"disk {n} full"})
    page = phone(Role.COMPLIANCE_OFFICER)
    page.goto(f"{live_server.url}/audit/")
    assert_within_card(page, page.locator("#results .table-wrap"), "#results .audit-summary")
    assert "Backup failed — error: disk 2 full" in page.locator("#results").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px too wide"
    page.screenshot(path=str(settings.VAR_DIR / "e2e-audit-390.png"), full_page=True)
