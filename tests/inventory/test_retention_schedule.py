"""Retention on beat: the prune task expires points and reclaims their chunks; full chains per policy."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from inventory import engine, vault_io
from inventory.models import PointStatus, RecoveryPoint
from inventory.services import backup_request
from inventory.tasks import backup_run, vault_prune

pytestmark = pytest.mark.django_db


def back_up(asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.error == ""
    return RecoveryPoint.objects.get(backup=backup)


def packs(vault_root: Path) -> set[str]:
    return {p.name for p in (vault_root / "chunks" / "packs").iterdir() if not p.name.startswith(".")}


def test_the_prune_task_is_on_the_one_beat_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["inventory.vault_prune"]
    assert entry == {"task": "inventory.vault_prune", "schedule": float(settings.VAULT_PRUNE_SECONDS)}


def live_packs(fs_vault, point: RecoveryPoint) -> set[str]:
    """The packs a point needs: its files' chunks and the parts that hold its entries."""
    manifest = engine.read_manifest_v2(
        vault=vault_io.open_vault(fs_vault), point=str(point.manifest["point"]), keyring=vault_io.keyring()
    )
    refs = [*manifest.parts(vault_io.keyring())]
    refs += [ref for entry in manifest.files(vault_io.keyring()) for ref in entry.chunks]
    return {ref.pack.rsplit("/", 1)[-1] for ref in refs}


def test_the_prune_task_expires_old_points_and_reclaims_only_their_chunks(backed_asset, fs_vault, source) -> None:
    root = Path(fs_vault.config["path"])
    first = back_up(backed_asset)
    kept_data = packs(root)
    (source / "old-only.bin").write_bytes(os.urandom(300_000))
    second = back_up(backed_asset)  # its only new chunk goes into a pack of its own
    only_old = {name for name in packs(root) - kept_data if (root / "chunks" / "packs" / name).stat().st_size > 300_000}
    assert len(only_old) == 1
    (source / "old-only.bin").unlink()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        newest = back_up(backed_asset)
        before = packs(root)
        live = live_packs(fs_vault, newest)

        line = vault_prune()  # the task body, as beat runs it

        for point in (first, second, newest):
            point.refresh_from_db()
        assert first.status == second.status == PointStatus.EXPIRED and newest.status == PointStatus.OK
        assert "expired 2 points" in line and "reclaimed" in line
        assert packs(root) == live and not only_old & live, "what only the expired points used is gone"
        event = AuditEvent.objects.get(action="vault.pruned")
        assert event.payload["packs_deleted"] == len(before - live) and event.payload["bytes_reclaimed"] >= 300_000
        assert vault_io.verify_point(vault=fs_vault, manifest=newest.manifest, decrypt=True).ok
        again = vault_prune()
        assert "deleted 0 packs" in again, "a second pass converges"


def test_a_policy_can_start_full_chains_more_often_than_the_site_default(backed_asset, settings) -> None:
    settings.BACKUP_FULL_CHAIN_DAYS = 0  # the site never starts one
    backed_asset.policy.full_chain_days = 1
    backed_asset.policy.save()
    first = back_up(backed_asset)
    second = back_up(backed_asset)
    assert second.stats["fresh_chain"] is False and second.stats["bytes_new"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        third = back_up(backed_asset)
    assert first.stats["fresh_chain"] is True
    assert third.stats["fresh_chain"] is True and third.stats["bytes_new"] == third.size_bytes


def test_without_a_policy_choice_the_site_default_applies(backed_asset, settings) -> None:
    settings.BACKUP_FULL_CHAIN_DAYS = 1
    assert backed_asset.policy.full_chain_days is None
    back_up(backed_asset)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert back_up(backed_asset).stats["fresh_chain"] is True
    backed_asset.policy.full_chain_days = 0  # this policy never starts one
    backed_asset.policy.save()
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        assert back_up(backed_asset).stats["fresh_chain"] is False
