"""Item 6: after "Back up now" finishes, the asset page's badge, readiness and points refresh without a reload."""

from __future__ import annotations

import pytest

from dr_portal.accounts.models import Role
from inventory.engine import generate_key_file
from inventory.models import Backup
from inventory.services import backup_execute, backup_request
from tests.factories import AssetFactory, RecoveryPolicyFactory, UserFactory, VaultFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_finished_backup_refreshes_status_readiness_and_points(live_server, page, settings, tmp_path) -> None:
    settings.VAULT_KEY_FILE = generate_key_file(tmp_path / "keys", key_id="e2e-key")
    settings.VAULT_KEY_ID = "e2e-key"
    settings.BACKUP_PROGRESS_SECONDS = 0
    source = tmp_path / "source"
    source.mkdir()
    (source / "model.bin").write_bytes(b"weights" * 1000)
    vault = VaultFactory.create(name="local", config={"path": str(tmp_path / "vault")}, worm_capable=True)
    policy = RecoveryPolicyFactory.create(rpo_minutes=60, rto_minutes=30)
    asset = AssetFactory.create(name="fraud-model", source_uri=str(source), vault=vault, policy=policy)
    UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password="browser password")
    backup_request(asset=asset, by=None)

    page.goto(f"{live_server.url}/accounts/login/?next=/inventory/assets/{asset.public_id}/")
    page.fill("#id_username", "chris")
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=waiting for a worker")
    readiness_before = page.locator("#readiness-card").inner_text()
    assert "No good backup" in readiness_before
    assert "No recovery points yet." in page.locator("#points-card").inner_text()

    outcome = backup_execute(backup_id=Backup.objects.get(asset=asset).pk)  # what the worker does
    assert "ok" in outcome, outcome
    page.wait_for_selector("#backup-panel >> text=Succeeded", timeout=10_000)
    # A locator wait, not wait_for_function: the page's CSP (no 'unsafe-eval') may refuse an evaluated string.
    page.locator("#points-card table tbody tr").first.wait_for(timeout=10_000)
    assert "No recovery points yet." not in page.locator("#points-card").inner_text()
    assert page.locator("#points-card table tbody tr").count() == 1
    assert "No good backup" not in page.locator("#readiness-card").inner_text()
