"""Two tables that hid columns sideways on a phone now stack each row as a card of labelled lines.

At 390 px the asset page's recovery points put "Holds / changes", the vault, the key and the dates in a
sideways scroller, and the drills schedule cut "Next due" and "Scheduled" off at the card's edge.
"""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from tests.e2e.conftest import assert_within_card
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATS = {
    "format": 2, "files_added": 2, "files_changed": 1, "files_removed": 0, "bytes_new": 1_200_000,
    "bytes_reused": 6_000_000, "compression_ratio": 1.4, "duration_s": 0.19, "throughput_mib_s": 31.2,
}  # fmt: skip


def test_the_recovery_points_are_cards_on_a_phone(live_server, phone, settings) -> None:
    asset = AssetFactory.create(name="nas-exports")
    for _ in range(2):
        RecoveryPointFactory.create(asset=asset, stats=STATS)
    page = phone(Role.VIEWER)
    page.goto(f"{live_server.url}/inventory/assets/{asset.public_id}/")
    wrap = page.locator(".table-wrap:has(table.points-table)")
    for label in ("Holds / changes", "Vault", "Verified"):
        assert_within_card(page, wrap, f"table.points-table td[data-label='{label}']")
    label = page.locator("td.point-stats").first.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Holds / changes: "', label
    page.screenshot(path=str(settings.VAR_DIR / "e2e-asset-points-cards-390.png"), full_page=True)


def test_the_drill_schedule_shows_next_due_and_scheduled_on_a_phone(live_server, phone, settings) -> None:
    policy = RecoveryPolicyFactory.create()
    for name in ("payments-db", "fraud-detection-model-registry"):
        AssetFactory.create(name=name, policy=policy)
    page = phone(Role.INCIDENT_COMMANDER)
    page.goto(f"{live_server.url}/drills/")
    wrap = page.locator(".table-wrap:has(table.drill-schedule)")
    for label in ("Next due", "Scheduled"):
        assert_within_card(page, wrap, f"table.drill-schedule td[data-label='{label}']")
    assert page.locator("table.drill-schedule button").first.is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px too wide"
    page.screenshot(path=str(settings.VAR_DIR / "e2e-drills-390.png"), full_page=True)
