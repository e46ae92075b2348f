"""Point verification with real backups in a filesystem vault: intact points refresh, damaged ones turn corrupt."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from inventory.models import PointStatus, RecoveryPoint
from inventory.readiness import asset_readiness
from inventory.services import backup_request, point_verify, points_verify_due
from inventory.tasks import backup_run, point_verify_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _format_1_points(settings):
    """These tests look inside format-1 manifests and objects, which old points keep."""
    settings.BACKUP_FORMAT = "files"


def back_up(asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    backup_run(backup.pk)
    return RecoveryPoint.objects.get(backup=backup)


def flip_one_byte(vault_root: Path, point: RecoveryPoint, path: str) -> str:
    """Damage the stored object of `path` in place; returns the object's file name."""
    entry = next(f for f in point.manifest["files"] if f["path"] == path)
    stored = vault_root / entry["object"]
    os.chmod(stored, 0o644)  # the vault makes objects read-only
    with stored.open("r+b") as handle:
        handle.seek(entry.get("offset", 0) + entry["stored_size"] // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))
    return entry["sha256"]


def test_an_intact_point_stays_ok_and_its_verified_at_moves(backed_asset) -> None:
    point = back_up(backed_asset)
    first = point.verified_at
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        assert point_verify_run(point.pk).endswith(": ok")
    point.refresh_from_db()
    assert point.status == PointStatus.OK
    assert point.verified_at is not None and first is not None
    assert point.verified_at >= first + timedelta(hours=3)
    event = AuditEvent.objects.get(action="point.verified")
    assert event.payload["point"] == str(point.public_id) and event.payload["files"] == 2


def test_a_flipped_byte_marks_the_point_corrupt_naming_the_file_and_both_hashes(
    backed_asset, fs_vault, client_for, viewer, commander
) -> None:
    older = back_up(backed_asset)
    point = back_up(backed_asset)
    flip_one_byte(Path(fs_vault.config["path"]), point, "weights/model.bin")
    entry = next(f for f in point.manifest["files"] if f["path"] == "weights/model.bin")

    point_verify_run(point.pk)

    point.refresh_from_db()
    assert point.status == PointStatus.CORRUPT
    event = AuditEvent.objects.get(action="point.corrupt")
    [problem] = event.payload["problems"]
    assert problem["path"] == "weights/model.bin"
    assert problem["expected_sha256"] == entry["stored_sha256"]
    assert problem["actual_sha256"] and problem["actual_sha256"] != entry["stored_sha256"]
    # Told in words for everyone; the file and its digests only to people who may restore (#11 item 5).
    assert point.note == "1 of 2 files failed verification." and "model.bin" not in point.note

    # Readiness no longer counts it: the newest good point is the older one.
    facts = asset_readiness(asset=backed_asset)
    rpo = next(c for c in facts.checks if c.name == "rpo")
    assert RecoveryPoint.objects.good().filter(asset=backed_asset).get() == older
    assert rpo.level.key == "ok"

    url = reverse("inventory:asset", args=[backed_asset.public_id])
    page = client_for(viewer).get(url).content.decode()
    assert "Corrupt" in page and "1 of 2 files failed verification" in page
    assert "weights/model.bin" not in page and entry["stored_sha256"] not in page
    page = client_for(commander).get(url).content.decode()
    assert "weights/model.bin" in page
    assert entry["stored_sha256"] in page and problem["actual_sha256"] in page


def test_a_corrupt_only_point_leaves_the_asset_without_a_good_backup(backed_asset, fs_vault) -> None:
    point = back_up(backed_asset)
    flip_one_byte(Path(fs_vault.config["path"]), point, "config.json")
    point_verify(point_id=point.pk)
    coverage = next(c for c in asset_readiness(asset=backed_asset).checks if c.name == "coverage")
    assert coverage.level.key == "breach", coverage.reason


def test_verifying_twice_or_a_corrupt_point_changes_nothing_more(backed_asset, fs_vault) -> None:
    point = back_up(backed_asset)
    flip_one_byte(Path(fs_vault.config["path"]), point, "config.json")
    point_verify(point_id=point.pk)
    assert point_verify(point_id=point.pk) is None
    assert AuditEvent.objects.filter(action="point.corrupt").count() == 1


def test_a_missing_key_is_not_taken_for_corruption(backed_asset, settings, tmp_path) -> None:
    point = back_up(backed_asset)
    settings.VAULT_KEY_FILE = tmp_path / "no-such-file"
    assert point_verify(point_id=point.pk) is None
    point.refresh_from_db()
    assert point.status == PointStatus.OK
    event = AuditEvent.objects.get(action="point.verify_failed")
    assert event.payload["code"] == "key_missing"


def test_beat_queues_only_each_assets_newest_point_when_its_check_is_stale(backed_asset, settings) -> None:
    settings.POINT_VERIFY_SECONDS = 3600
    old = back_up(backed_asset)
    newest = back_up(backed_asset)
    assert points_verify_due() == []
    assert points_verify_due(now=timezone.now() + timedelta(hours=2)) == [newest.pk]
    assert old.pk != newest.pk


def test_verify_now_needs_run_backups_and_queues_the_newest_point(
    backed_asset, client_for, commander, viewer, django_capture_on_commit_callbacks
) -> None:
    point = back_up(backed_asset)
    url = reverse("inventory:asset-verify", args=[backed_asset.public_id])
    assert client_for(viewer).post(url).status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(commander).post(url)
    assert response.status_code == 302
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="point.verify_requested")
    assert event.payload["point"] == str(point.public_id)
    page = client_for(commander).get(reverse("inventory:asset", args=[backed_asset.public_id])).content.decode()
    assert "Verify now" in page
    assert "Verify now" not in client_for(viewer).get(response["Location"]).content.decode()
