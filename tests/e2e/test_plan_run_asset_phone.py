"""A plan, a run's dry run and an asset page on a phone and a desktop: nothing scrolls sideways.

At 390 px the plans list scrolled 79 px sideways (its Updated column past the card), the plan page
265 px, the dry-run table hid Target, Region, Bytes, Forecast and Approval off-screen (the target is
what an approver approves), and the asset page's action buttons stuck out 27 px.
"""

from __future__ import annotations

from typing import Any

import pytest

from dr_portal.accounts.models import Role
from tests.factories import AssetFactory, IncidentFactory, PlanStepFactory, RecoveryPlanFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1440, "height": 900}


def page_overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.fixture
def plan(db: Any) -> Any:
    asset = AssetFactory.create(
        name="fraud-detection-model-weights-and-feature-store",
        source_uri="/srv/data/models/fraud-detection/weights/production/current",
        connector="sqlite",
        connector_config={"path": "/srv/data/models/fraud-detection/features.sqlite3"},
    )
    plan = RecoveryPlanFactory.create(name="Fraud model consistency group, restored as one set")
    PlanStepFactory.create(
        plan=plan, asset=asset, key="restore-fraud-detection-model-weights", title="Restore the fraud weights",
        requires_approval=True, approval_quorum=2, approval_role=Role.INCIDENT_COMMANDER,
        params={"target_path": "/srv/restore/fraud-detection/weights/new"},
    )  # fmt: skip
    plan.incident = IncidentFactory.create(title="Fraud scores drift")  # type: ignore[attr-defined]  # for _pages
    return plan


def _pages(live_server: Any, plan: Any) -> dict[str, str]:
    asset = plan.steps.first().asset
    run = f"plan={plan.public_id}&mode=recovery&incident={plan.incident.public_id}"
    return {
        "plans": f"{live_server.url}/inventory/plans/",
        "plan": f"{live_server.url}/inventory/plans/{plan.public_id}/",
        "dry run": f"{live_server.url}/runs/new/?{run}",
        "asset": f"{live_server.url}/inventory/assets/{asset.public_id}/",
    }


def test_plan_dry_run_and_asset_pages_do_not_scroll_sideways_at_390_px(live_server, phone, plan, settings) -> None:
    page = phone(Role.INCIDENT_COMMANDER)
    for name, url in _pages(live_server, plan).items():
        page.goto(url)
        assert page_overflow(page) <= 0, f"the {name} page scrolls {page_overflow(page)} px sideways"
        page.screenshot(path=str(settings.VAR_DIR / f"e2e-{name.replace(' ', '-')}-390.png"), full_page=True)
    # The dry run's target, the thing being approved, is on screen, labelled, within the page.
    page.goto(_pages(live_server, plan)["dry run"])
    target = page.locator(".stack-table td[data-label='Target']").first
    box = target.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390.5, box
    assert page.locator(".stack-table tr").nth(1).bounding_box()["height"] < 600  # a card, not a blank column
    actions = page.locator(".page-head .actions .btn")
    page.goto(_pages(live_server, plan)["asset"])
    for i in range(actions.count()):
        edge = actions.nth(i).bounding_box()
        assert edge["x"] + edge["width"] <= 390.5, (i, edge)


def test_the_same_pages_fit_a_desktop(live_server, browser, plan) -> None:
    from tests.e2e.conftest import PASSWORD
    from tests.factories import UserFactory

    user = UserFactory.create(role=Role.INCIDENT_COMMANDER, password=PASSWORD)
    context = browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        for name, url in _pages(live_server, plan).items():
            page.goto(url)
            assert page_overflow(page) <= 0, f"the {name} page scrolls {page_overflow(page)} px sideways"
            if name != "asset":
                assert page.locator(".stack-table thead").first.is_visible()  # on a desktop tables stay tables
    finally:
        context.close()
