"""A backup, restore or verification error names a source file only to people who may restore (#11 item 5).

New failures are recorded in words, the whole message kept under ``file_detail``
(a content key, dr_portal/accounts/contents.py); errors stored before that
change, and audit events (never rewritten), are told in the same words at
display time by the same mechanism. A viewer sees neither; an on-call engineer
sees the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.services import audit_append
from inventory.connectors import SourceChanged, get_connector
from inventory.models import Asset, Backup, BackupStatus, RecoveryPoint
from inventory.services import backup_fail, backup_request
from tests.factories import RecoveryRunFactory, StepRunFactory

pytestmark = pytest.mark.django_db

SECRET = "payroll-2026.csv"
DIGEST = "ab" * 32


def _changed_message(tmp_path: Path) -> str:
    """The filesystem connector's own message for a file written while it was read."""
    tree = tmp_path / "live"
    tree.mkdir()
    (tree / SECRET).write_text("name,salary\n")
    snap = get_connector("filesystem", {"path": str(tree)}).snapshot(tmp_path / "staging")
    item = next(f for f in snap.source.scan().files if f.path == SECRET)
    with pytest.raises(SourceChanged) as changed, snap.source.open(item) as reader:
        reader.read()
        (tree / SECRET).write_text("name,salary\nann,1\n")
    assert SECRET in str(changed.value)
    return str(changed.value)


def _places(asset: Asset, client: Client) -> dict[str, str]:
    pages = {
        "asset page": client.get(reverse("inventory:asset", args=[asset.public_id])).content.decode(),
        "backups API": client.get("/api/v1/inventory/backups/").content.decode(),
        "points API": client.get("/api/v1/inventory/recovery-points/").content.decode(),
        "audit API": client.get("/api/v1/audit/events/").content.decode(),
    }
    history = reverse("inventory:asset-history", args=[asset.public_id])
    pages["history page"] = client.get(history).content.decode()
    return pages


def test_a_backup_that_met_a_changing_file_names_it_only_to_restorers(
    model: Asset, tmp_path: Path, client_for: Any, viewer: Any, oncall: Any
) -> None:
    message = _changed_message(tmp_path)
    backup = backup_request(asset=model, by=None)
    Backup.objects.filter(pk=backup.pk).update(status=BackupStatus.RUNNING, attempts=1, started_at=timezone.now())
    backup.refresh_from_db()
    backup_fail(backup=backup, code="connector_source_changed", reason=message)
    backup.refresh_from_db()
    assert SECRET not in backup.error and "A file changed while it was being backed up" in backup.error
    point = RecoveryPoint.objects.get(backup=backup)
    assert SECRET not in point.note and point.stats["file_detail"] == message

    seen_by_viewer = _places(model, client_for(viewer))
    assert "A file changed while it was being backed up" in seen_by_viewer["asset page"]
    assert [name for name, body in seen_by_viewer.items() if SECRET in body] == []
    seen_by_restorer = _places(model, client_for(oncall))
    assert SECRET in seen_by_restorer["asset page"] and SECRET in seen_by_restorer["backups API"]


def test_errors_stored_before_the_change_are_told_in_words_to_viewers(
    model: Asset, client_for: Any, viewer: Any, oncall: Any, compliance: Any, admin: Any
) -> None:
    old = f"The file {SECRET} changed while it was being backed up; the copy would not be one consistent state."
    Backup.objects.create(
        asset=model,
        vault=model.vault,  # type: ignore[misc]
        trigger="manual",
        status=BackupStatus.FAILED,
        error=old,
        finished_at=timezone.now(),
    )
    run = RecoveryRunFactory.create(
        status="failed",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        error=f"Final verification failed: {SECRET}: chunk 0123456789abcdef… is missing.",
    )
    step = StepRunFactory.create(
        run=run,
        asset=model,
        state="failed",
        finished_at=timezone.now(),
        error=f"{SECRET}: restored content does not match the manifest: SHA-256 expected {DIGEST}, got nothing.",
    )
    audit_append(action="backup.failed", system_actor="system:worker", obj=model, payload={"reason": old})

    def places(client: Client) -> dict[str, str]:
        run_url = reverse("runs:detail", args=[run.public_id])
        return {
            **_places(model, client),
            "run page": client.get(run_url).content.decode(),
            "run API": client.get(f"/api/v1/runs/{run.public_id}/").content.decode(),
            "step API": client.get(f"/api/v1/runs/steps/{step.public_id}/").content.decode(),
        }

    by_viewer = places(client_for(viewer))
    assert "A file changed while it was being backed up" in by_viewer["asset page"]
    assert [name for name, body in by_viewer.items() if SECRET in body or DIGEST in body] == []
    by_restorer = places(client_for(oncall))
    for name in ("asset page", "backups API", "run page", "run API", "step API"):
        assert SECRET in by_restorer[name], name
    # The audit log is never rewritten: its reader who may not restore gets the words, an admin the file.
    audit = client_for(compliance).get("/api/v1/audit/events/").content.decode()
    assert "backup.failed" in audit and "A file changed while" in audit and SECRET not in audit
    assert SECRET in client_for(admin, mfa=True).get("/api/v1/audit/events/").content.decode()
