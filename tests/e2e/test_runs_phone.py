"""Recovery runs on a phone: the runs list and a run's steps as blocks, their status on screen.

At 390 px both were tables scrolling sideways in their card: the runs list hid the status column,
and the run page hid each step's state and a consistency group's per-member verification lines.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from dr_portal.accounts.models import Role
from tests.e2e.conftest import assert_within_card
from tests.factories import RecoveryPlanFactory, RecoveryRunFactory, StepRunFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MEMBERS = {
    "fraud-model-registry": {"ok": True, "summary": "model fraud-scorer version 7 present, stage Production"},
    "fraud-features-db": {"ok": True, "summary": "feature rows 48 000 expected, 48 000 found; schema digest matches"},
    "fraud-case-index": {"ok": False, "summary": "vector rows 12 000 expected, 11 904 found in the restored index"},
}


@pytest.fixture
def run(db: Any) -> Any:
    plan = RecoveryPlanFactory.create(name="Fraud model consistency group, restored as one set")
    now = timezone.now()
    return RecoveryRunFactory.create(
        plan=plan, status="failed", finished_at=now, rto_target_seconds=3600, achieved_rto_seconds=5400
    )


def test_the_runs_list_shows_each_runs_status_within_the_card_at_390_px(live_server, phone, run, settings) -> None:
    page = phone(Role.INCIDENT_COMMANDER)
    page.goto(f"{live_server.url}/runs/")
    assert_within_card(page, page.locator(".table-wrap").first, "td[data-label='Status'] .status")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-runs-list-390.png"), full_page=True)


def test_a_group_steps_state_and_member_lines_are_within_the_card_at_390_px(live_server, phone, run, settings) -> None:
    connector = {"ok": False, "kind": "group", "summary": "2 of 3 members verified", "members": MEMBERS}
    StepRunFactory.create(
        run=run, key="verify-group", title="Verify the fraud model group", kind="verify", state="failed",
        error="a member of the group did not verify", evidence={"connector": connector},
    )  # fmt: skip
    page = phone(Role.INCIDENT_COMMANDER)
    page.goto(f"{live_server.url}/runs/{run.public_id}/")
    wrap = page.locator("table.steps").locator("xpath=ancestor::div[contains(@class,'table-wrap')]")
    assert_within_card(page, wrap, "#step-verify-group .status")
    assert_within_card(page, wrap, "#step-verify-group .connector-evidence strong")
    lines = page.locator("#step-verify-group .connector-evidence").inner_text()
    assert all(name in lines for name in MEMBERS), lines
    page.screenshot(path=str(settings.VAR_DIR / "e2e-run-steps-390.png"), full_page=True)
