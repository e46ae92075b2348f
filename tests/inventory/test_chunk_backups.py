"""Backups through the chunk store from the Django side: dedup, statistics, verify, old points."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from inventory import vault_io
from inventory.models import PointStatus, RecoveryPoint
from inventory.services import backup_request, point_verify
from inventory.tasks import backup_run

pytestmark = pytest.mark.django_db


def back_up(asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.error == ""
    return RecoveryPoint.objects.get(backup=backup)


def packs(vault_root: Path) -> list[Path]:
    return [p for p in (vault_root / "chunks" / "packs").iterdir() if not p.name.startswith(".")]


def pack_bytes(vault_root: Path) -> int:
    return sum(p.stat().st_size for p in packs(vault_root))


def test_a_second_backup_of_an_unchanged_asset_adds_almost_nothing(backed_asset, fs_vault) -> None:
    root = Path(fs_vault.config["path"])
    first = back_up(backed_asset)
    assert first.manifest["version"] == 2 and "files" not in first.manifest  # the manifest stays in the vault
    assert first.stats["files_added"] == 2 and first.stats["bytes_new"] == first.size_bytes
    stored = pack_bytes(root)
    assert stored < 40_000  # 1 MiB of a repeating pattern compresses to little

    second = back_up(backed_asset)
    # Nothing but, at most, the part holding its entries, when a file's stamp is trusted only now.
    assert pack_bytes(root) - stored == second.stats["bytes_manifest_stored"] < 1000
    assert second.stats["manifest_parts"] == 1
    assert second.stats["bytes_new"] == 0 and second.stats["bytes_reused"] == second.size_bytes
    assert (second.stats["files_added"], second.stats["files_changed"], second.stats["files_removed"]) == (0, 0, 0)
    assert second.stats["compared_with_previous"] is True
    assert vault_io.verify_point(vault=fs_vault, manifest=second.manifest, decrypt=True).ok


def test_statistics_count_added_changed_and_removed_files(backed_asset, source) -> None:
    back_up(backed_asset)
    (source / "config.json").write_text('{"threshold": 0.9}')
    (source / "new.txt").write_text("new")
    (source / "weights" / "model.bin").unlink()
    point = back_up(backed_asset)
    stats = point.stats
    assert (stats["files_added"], stats["files_changed"], stats["files_removed"]) == (1, 1, 1)
    assert stats["bytes_new"] == len('{"threshold": 0.9}') + 3
    assert stats["duration_s"] >= 0 and "throughput_mib_s" in stats


def test_the_asset_page_and_the_api_show_new_and_reused_bytes(backed_asset, client_for, viewer) -> None:
    back_up(backed_asset)
    point = back_up(backed_asset)
    client = client_for(viewer)
    page = client.get(reverse("inventory:asset", args=[backed_asset.public_id])).content.decode()
    assert "0\xa0bytes new" in page and "reused" in page
    data = client.get(f"/api/v1/inventory/recovery-points/{point.public_id}/").json()
    assert data["stats"]["bytes_reused"] == point.size_bytes and data["stats"]["bytes_new"] == 0


def test_a_damaged_chunk_marks_the_point_corrupt_naming_file_and_chunk(backed_asset, fs_vault, settings) -> None:
    settings.POINT_VERIFY_DECRYPT = True
    point = back_up(backed_asset)
    root = Path(fs_vault.config["path"])
    pack = max(packs(root), key=lambda p: p.stat().st_size)  # the files' chunks, not the part of the entries
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[60] ^= 0x01
    pack.write_bytes(bytes(data))
    point_verify(point_id=point.pk)
    point.refresh_from_db()
    assert point.status == PointStatus.CORRUPT
    event = AuditEvent.objects.get(action="point.corrupt")
    [problem] = event.payload["problems"]
    assert problem["path"] in ("config.json", "weights/model.bin") and "chunk" in problem["problem"]


def test_format_1_points_stay_readable_after_the_switch(backed_asset, fs_vault, settings, tmp_path) -> None:
    settings.BACKUP_FORMAT = "files"
    old = back_up(backed_asset)
    settings.BACKUP_FORMAT = "chunks"
    new = back_up(backed_asset)
    assert old.manifest["version"] == 1 and new.manifest["version"] == 2
    assert new.stats["files_changed"] == 0 and new.stats["compared_with_previous"]
    for point in (old, new):
        assert vault_io.verify_point(vault=fs_vault, manifest=point.manifest, decrypt=True).ok
        target = tmp_path / f"restore-{point.public_id}"
        evidence = vault_io.restore_point(
            vault=fs_vault, manifest=point.manifest, target_dir=target, progress=lambda d, t: True
        )
        assert evidence["files_restored"] == 2
        report = vault_io.verify_restored(
            manifest=point.manifest, target_dir=target, progress=lambda d, t: True, vault=fs_vault
        )
        assert report.ok
        vault_io.cleanup_restored(manifest=point.manifest, target_dir=target, vault=fs_vault)
        assert not target.exists()


def test_a_fresh_full_chain_starts_when_the_chain_is_older_than_the_setting(backed_asset, fs_vault, settings) -> None:
    settings.BACKUP_FULL_CHAIN_DAYS = 1
    root = Path(fs_vault.config["path"])
    first = back_up(backed_asset)
    assert first.stats["fresh_chain"] is True
    second = back_up(backed_asset)
    assert second.stats["fresh_chain"] is False and second.stats["bytes_new"] == 0
    assert second.stats["chain_started"] == first.stats["chain_started"]
    stored = pack_bytes(root)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        third = back_up(backed_asset)
    assert third.stats["fresh_chain"] is True and third.stats["bytes_new"] == third.size_bytes
    assert pack_bytes(root) - stored >= first.stats["bytes_stored"]  # every chunk stored again, in new packs
    assert vault_io.verify_point(vault=fs_vault, manifest=third.manifest, decrypt=True).ok
