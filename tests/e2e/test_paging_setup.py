"""A commander sets up paging from the On call page in a browser, then an incident pages through it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dr_portal.accounts.models import Role
from incidents.models import Delivery, IncidentAsset
from incidents.paging.models import EscalationLevel, Page, PageStatus
from incidents.paging.services import page_open
from inventory.models import Asset
from tests.factories import AssetFactory, IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(tab, url: str, username: str) -> None:
    tab.goto(f"{url}/accounts/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", "browser password")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{url}/")


def test_commander_creates_a_schedule_and_policy_and_an_incident_pages_through_them(
    live_server, browser, settings, tmp_path
) -> None:
    from playwright.sync_api import expect

    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.SITE_URL = live_server.url
    UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    oli = UserFactory.create(
        username="oli", first_name="Oli", last_name="Tanaka", role=Role.ONCALL_ENGINEER, password="browser password"
    )
    AssetFactory.create(name="fraud-model", owner_team="ml-platform")

    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = desk.new_page()
    _sign_in(tab, live_server.url, "chris")
    tab.goto(f"{live_server.url}/paging/")
    board = tab.locator("#board")

    # A schedule for the team that owns the asset.
    tab.fill("#schedule_team", "ml-platform")
    tab.fill("#schedule_name", "ML platform on call")
    tab.get_by_role("button", name="Add the schedule").click()
    expect(board.get_by_role("status")).to_contain_text("Schedule “ML platform on call” added for team ml-platform")
    expect(tab.locator("#schedules")).to_contain_text("nobody is on call")

    # A policy whose level pages that schedule is refused while nobody is on call, beside the field.
    tab.select_option("#policy_severity", "SEV1")
    tab.get_by_role("button", name="Add the policy").click()
    expect(board.get_by_role("status")).to_contain_text("SEV1 escalation policy added")
    tab.select_option("#level_policy", label="SEV1 policy")
    tab.select_option("#level_schedule", label="ML platform on call (team ml-platform)")
    tab.get_by_role("button", name="Add the level").click()
    expect(tab.locator("#level_schedule_error")).to_contain_text("Nobody is on call in ML platform on call now")
    assert not EscalationLevel.objects.exists()

    # A weekly rotation with Oli in it, from an hour ago (the search box narrows the people list).
    tab.select_option("#layer_schedule", label="ML platform on call (team ml-platform)")
    tab.fill("#layer_name", "weekly")
    tab.locator('input[data-filter-select="layer_members"]').fill("tanaka")
    tab.select_option("#layer_members", label="Oli Tanaka")
    started = timezone.now() - timedelta(hours=1)
    tab.fill("#layer_starts_at", started.strftime("%Y-%m-%dT%H:%M"))
    tab.get_by_role("button", name="Add the layer").click()
    expect(board.get_by_role("status")).to_contain_text("Layer “weekly” added to ML platform on call")
    expect(tab.locator("#schedules")).to_contain_text("ML platform on call team ml-platform — Oli Tanaka")

    # Now the level is taken.
    tab.select_option("#level_policy", label="SEV1 policy")
    tab.select_option("#level_schedule", label="ML platform on call (team ml-platform)")
    tab.fill("#level_wait_minutes", "5")
    tab.get_by_role("button", name="Add the level").click()
    expect(board.get_by_role("status")).to_contain_text("Level 1 added to the SEV1 policy")
    expect(tab.locator("#policies")).to_contain_text("on-call of ML platform on call, then wait 5 min")
    desk.close()

    # A SEV1 on the team's asset pages Oli through what was just set up (as the worker does once declared).
    incident = IncidentFactory.create(kind="real", severity="SEV1", title="Fraud scoring down")
    IncidentAsset.objects.create(incident=incident, asset=Asset.objects.get(name="fraud-model"))
    page = page_open(incident=incident)
    assert page is not None and page.team == "ml-platform" and page.notified == [oli.pk]
    assert Delivery.objects.get(event="page", channel="email").recipients == [oli.email]

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    tab = phone.new_page()
    _sign_in(tab, live_server.url, "oli")
    tab.goto(f"{live_server.url}/incidents/{incident.public_id}/")
    expect(tab.locator("#timeline")).to_contain_text("Paged Oli Tanaka (level 1): SEV1 declared")
    tab.goto(f"{live_server.url}/paging/")
    waiting = tab.locator("#open-pages")
    expect(waiting).to_contain_text(incident.reference)
    waiting.get_by_role("button", name="Acknowledge").click()
    expect(tab.locator("main")).to_contain_text("escalation stopped")
    phone.close()
    page.refresh_from_db()
    assert page.status == PageStatus.ACKNOWLEDGED and page.acknowledged_by == oli
    assert Page.objects.count() == 1
