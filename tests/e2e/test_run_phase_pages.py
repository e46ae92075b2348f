"""The drill journey's pages in a browser at 1440 and 390 px: a run restoring a group member says which
member and phase it is in, a replace says the old content was swapped out, a done drill says so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dr_portal.accounts.models import Role
from incidents.models import IncidentAsset
from tests.e2e.conftest import assert_within_card
from tests.factories import (
    AssetFactory,
    IncidentFactory,
    PlanStepFactory,
    RecoveryPlanFactory,
    RecoveryRunFactory,
    StepRunFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHASE = "fraud-features-db (2 of 3): swapping in the restored copy"
REPLACED = (
    "Replaced what SQLite /srv/flags.sqlite3 held. The old content stayed in place until the restored copy "
    "had been checked, and was swapped out only then."
)


@pytest.fixture
def running(db: Any) -> Any:
    plan = RecoveryPlanFactory.create(name="Fraud model consistency group, restored as one set")
    run = RecoveryRunFactory.create(plan=plan, status="running", mode="drill")
    now = timezone.now()
    StepRunFactory.create(
        run=run, key="restore-flags", title="Restore the flags database", kind="restore", state="succeeded",
        finished_at=now, evidence={"replace": True, "replaced": REPLACED}, bytes_done=4096, bytes_total=4096,
    )  # fmt: skip
    StepRunFactory.create(
        run=run, key="restore-group", title="Restore the fraud model group", kind="restore", state="running",
        attempt=1, bytes_done=48 << 20, bytes_total=48 << 20, phase=PHASE, phase_at=now - timedelta(seconds=95),
    )  # fmt: skip
    return run


def _signed_in(browser: Any, live_server: Any, width: int) -> Any:
    from tests.e2e.conftest import PASSWORD
    from tests.factories import UserFactory

    user = UserFactory.create(role=Role.INCIDENT_COMMANDER, password=PASSWORD)
    tab = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    tab.goto(f"{live_server.url}/accounts/login/")
    tab.fill("#id_username", user.username)
    tab.fill("#id_password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/")
    return tab


@pytest.mark.parametrize("width", [1440, 390])
def test_a_running_group_restore_names_its_member_and_phase(browser, live_server, running, settings, width) -> None:
    page = _signed_in(browser, live_server, width)
    page.goto(f"{live_server.url}/runs/{running.public_id}/")
    now = page.locator(".run-now")
    assert PHASE in now.inner_text() and "for 1 min 3" in now.inner_text()  # 95 s, to the second
    assert PHASE in page.locator("#step-restore-group .step-phase").inner_text()
    assert REPLACED in page.locator("#step-restore-flags .step-replaced").inner_text()
    if width == 390:
        assert_within_card(page, page.locator(".table-wrap").first, ".step-phase")
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-run-phase-{width}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("width", [1440, 390])
def test_a_done_drill_says_so_and_offers_to_resolve_it(browser, live_server, settings, width) -> None:
    asset = AssetFactory.create(name="flags-db")
    drill = IncidentFactory.create(kind="drill", title="Drill: flags-db", status="declared")
    IncidentAsset.objects.create(
        incident=drill, asset=asset, source="declared", drill_outcome="passed", drill_evidence="run RUN-1"
    )
    plan = RecoveryPlanFactory.create(name="Flags database restore")
    PlanStepFactory.create(plan=plan, key="restore", kind="restore", asset=asset, params={"replace": False})
    page = _signed_in(browser, live_server, width)
    page.goto(f"{live_server.url}/incidents/{drill.public_id}/")
    assert "Drill done:" in page.locator(".drill-done").inner_text()
    assert page.locator(".transitions button").all_inner_texts() == ["→ Resolved", "→ Investigating"]
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-drill-done-{width}.png"), full_page=True)
    page.goto(f"{live_server.url}/runs/new/?incident={drill.public_id}&mode=drill")
    assert page.locator("#id_plan option:checked").inner_text().startswith("Flags database restore")
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-run-new-from-drill-{width}.png"), full_page=True)
    page.goto(f"{live_server.url}/inventory/plans/{plan.public_id}/")
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-plan-params-{width}.png"), full_page=True)
    page.context.close()
