"""Readiness in words never shows a server path to a role that may not restore (#11 item 5).

A backup whose source folder is gone fails with "The source <path> does not
exist."; the asset's readiness quotes that message. The readiness page, the
asset page, the dashboard and the readiness API say it in words to a viewer and
a compliance officer, and with the path to a commander and an on-call engineer.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from inventory.models import Asset, BackupStatus
from inventory.services import backup_request
from inventory.services.readiness import readiness_refresh
from inventory.tasks import backup_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_asset(backed_asset: Asset, source: Any) -> tuple[Asset, str]:
    gone = str(source / "gone-folder")
    backed_asset.source_uri = gone
    backed_asset.save()
    backup = backup_request(asset=backed_asset, by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.status == BackupStatus.FAILED and backup.error == "The source does not exist."
    readiness_refresh(asset_ids=[backed_asset.pk])
    return backed_asset, gone


def _places(client: Client, asset: Asset) -> dict[str, str]:
    return {
        "readiness page": client.get("/inventory/readiness/").content.decode(),
        "asset page": client.get(f"/inventory/assets/{asset.public_id}/").content.decode(),
        "dashboard": client.get("/").content.decode(),
        "readiness API": client.get("/api/v1/inventory/readiness/").content.decode(),
        "asset readiness API": client.get(f"/api/v1/inventory/assets/{asset.public_id}/readiness/").content.decode(),
    }


@pytest.mark.parametrize("role", ["viewer", "compliance"])
def test_roles_that_may_not_restore_read_the_reason_without_the_path(
    failed_asset: tuple[Asset, str], client_for: Any, role: str, request: pytest.FixtureRequest
) -> None:
    asset, gone = failed_asset
    places = _places(client_for(request.getfixturevalue(role)), asset)
    assert "The source does not exist." in places["readiness page"]
    assert "The source does not exist." in places["readiness API"]
    leaks = [name for name, text in places.items() if gone in text or "gone-folder" in text]
    assert leaks == []


@pytest.mark.parametrize("role", ["commander", "oncall"])
def test_roles_that_may_restore_see_the_path(
    failed_asset: tuple[Asset, str], client_for: Any, role: str, request: pytest.FixtureRequest
) -> None:
    asset, gone = failed_asset
    places = _places(client_for(request.getfixturevalue(role)), asset)
    for name in ("readiness page", "asset page", "readiness API", "asset readiness API"):
        assert f"The source {gone} does not exist." in places[name], name


def test_the_stored_reason_keeps_the_path(failed_asset: tuple[Asset, str]) -> None:
    """What is stored is what the rules said; hiding happens when it is shown."""
    asset, gone = failed_asset
    asset.readiness_state.refresh_from_db()
    assert any(gone in check["reason"] for check in asset.readiness_state.checks)
