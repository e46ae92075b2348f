"""The asset page's recovery points on a phone: the "new vs reused bytes" column stays readable.

At 390 px the points table scrolls sideways in its card, and the browser squeezed the changes column to
a few characters a line ("+0 / file / 0 b / new / reu"): the figure a reader comes for was unreadable.
"""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from inventory.models import BackupStatus
from tests.e2e.conftest import assert_within_card
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATS = {
    "format": 2, "files_added": 0, "files_changed": 1, "files_removed": 0, "bytes_new": 1_200_000,
    "bytes_reused": 6_000_000, "compression_ratio": 1.4, "duration_s": 0.19, "throughput_mib_s": 31.2,
}  # fmt: skip


def test_the_changes_column_is_readable_at_390_px(live_server, phone, settings) -> None:
    asset = AssetFactory.create(name="fraud-detection-model")
    for _ in range(3):
        RecoveryPointFactory.create(asset=asset, stats=STATS)
    page = phone(Role.VIEWER)
    page.goto(f"{live_server.url}/inventory/assets/{asset.public_id}/")
    cell = page.locator("td.point-stats").first
    assert "1.1 MB new, 5.7 MB reused" in " ".join(cell.inner_text().split())
    assert cell.bounding_box()["width"] >= 150
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px too wide"
    page.screenshot(path=str(settings.VAR_DIR / "e2e-asset-points-390.png"), full_page=True)


def test_the_asset_list_fits_a_phone_without_cutting_lines_off(live_server, phone, settings) -> None:
    """Each asset became a block on a phone, but the table kept a 36rem minimum width inside its scroller:
    "Region", the backup line and the reason were cut off at the card's edge."""
    AssetFactory.create(name="archive-dataset", region="eu-west-1", owner_team="risk-ml")
    page = phone(Role.VIEWER)
    page.goto(f"{live_server.url}/inventory/")
    assert_within_card(page, page.locator(".table-wrap").first, "td[data-label='Region']")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-asset-list-390.png"), full_page=True)


def test_a_failed_backup_naming_a_long_path_fits_a_phone(live_server, phone, settings) -> None:
    """An MLflow version without artifacts fails its backup naming the registry path, one word of 60
    characters; on a phone the error box and the readiness reason ran 114 px past the screen."""
    asset = AssetFactory.create(name="fraud-model-registry")
    RecoveryPointFactory.create(asset=asset, stats=STATS)
    error = (
        "Version 1 of fraud-detection has no artifacts at 1/3ce9837cc8fa4cf99a496dc0ed6ca6e8/artifacts/model:"
        " the model files are missing, so this version cannot be restored."
    )
    BackupFactory.create(asset=asset, status=BackupStatus.FAILED, error=error)
    page = phone(Role.INCIDENT_COMMANDER)
    page.goto(f"{live_server.url}/inventory/assets/{asset.public_id}/")
    assert "3ce9837cc8fa4cf99a496dc0ed6ca6e8" in page.locator(".alert-error").first.inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px too wide"
    page.screenshot(path=str(settings.VAR_DIR / "e2e-asset-failed-backup-390.png"), full_page=True)
