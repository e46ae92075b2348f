"""Item 6 at the HTTP level: a finished backup's panel tells the page to refresh what the backup changed."""

from __future__ import annotations

import pytest

from inventory.models import BackupStatus
from tests.factories import AssetFactory, BackupFactory

pytestmark = pytest.mark.django_db


def test_finished_backup_panel_triggers_a_page_refresh_and_a_running_one_does_not(client_for, viewer) -> None:
    asset = AssetFactory.create(name="fraud-model")
    backup = BackupFactory.create(asset=asset, status=BackupStatus.RUNNING)
    client = client_for(viewer)
    url = f"/inventory/assets/{asset.public_id}/backup/"
    assert "HX-Trigger" not in client.get(url, HTTP_HX_REQUEST="true")
    backup.status = BackupStatus.SUCCEEDED
    backup.save()
    assert client.get(url, HTTP_HX_REQUEST="true")["HX-Trigger"] == "backup-finished"
    page = client.get(f"/inventory/assets/{asset.public_id}/").content.decode()
    assert 'hx-select-oob="#asset-status,#readiness-card,#points-card"' in page
    for part in ('id="asset-status"', 'id="readiness-card"', 'id="points-card"'):
        assert part in page
