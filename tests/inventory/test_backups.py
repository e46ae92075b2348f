"""Backups through the services and the task function, with the real engine and real files."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from inventory.models import Backup, BackupStatus, PointStatus, RecoveryPoint
from inventory.readiness import Level, asset_readiness
from inventory.services import (
    backup_claim,
    backup_request,
    backups_enqueue_due,
    backups_reconcile,
    point_expire,
    points_expire_due,
)
from inventory.tasks import backup_run
from inventory.vault_io import VaultIOFailure, verify_point
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _format_1_points(settings):
    """These tests look inside format-1 manifests and objects, which old points keep."""
    settings.BACKUP_FORMAT = "files"


def run(asset, by=None) -> Backup:
    backup = backup_request(asset=asset, by=by)
    backup_run(backup.pk)  # the task body, called directly
    backup.refresh_from_db()
    return backup


def test_a_backup_makes_a_verified_encrypted_point(backed_asset, fs_vault, commander) -> None:
    backup = run(backed_asset, by=commander)
    assert backup.status == BackupStatus.SUCCEEDED, backup.error
    point = RecoveryPoint.objects.get(asset=backed_asset)
    assert point.status == PointStatus.OK and point.backup == backup
    assert point.file_count == 2 and point.size_bytes == 1024 * 1024 + 19
    assert point.key_id == "test-key" and point.verified_at is not None
    assert point.immutable_until is not None and point.immutable_until > timezone.now() + timedelta(days=1)
    paths = {f["path"]: f for f in point.manifest["files"]}
    assert set(paths) == {"weights/model.bin", "config.json"}
    assert len(paths["config.json"]["sha256"]) == 64
    assert backup.bytes_done == backup.bytes_total == point.size_bytes
    # The stored objects are ciphertext, not the source bytes.
    stored = b"".join(p.read_bytes() for p in Path(fs_vault.config["path"]).rglob("0000000*"))
    assert bytes(range(256)) * 16 not in stored
    assert verify_point(vault=fs_vault, manifest=point.manifest).ok
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["backup.requested", "backup.started", "backup.completed"]
    assert asset_readiness(asset=backed_asset).level is Level.OK or "drill" in str(
        asset_readiness(asset=backed_asset).problems
    )


def test_running_the_task_twice_does_the_work_once(backed_asset) -> None:
    backup = run(backed_asset)
    assert backup_run(backup.pk).endswith("nothing to do")
    assert RecoveryPoint.objects.filter(asset=backed_asset).count() == 1
    assert AuditEvent.objects.filter(action="backup.started").count() == 1


def test_a_missing_source_fails_with_the_reason_and_keeps_earlier_points(
    backed_asset, source, client_for, viewer, commander
) -> None:
    good = run(backed_asset)
    assert good.status == BackupStatus.SUCCEEDED
    backed_asset.source_uri = str(source / "gone")
    backed_asset.save()
    failed = run(backed_asset)
    assert failed.status == BackupStatus.FAILED and failed.error_code == "source_missing"
    # The error is in words; the whole message, server path included, is kept for restorers.
    assert failed.error == "The source does not exist."
    points = dict(RecoveryPoint.objects.filter(asset=backed_asset).values_list("status", "backup_id"))
    assert points == {PointStatus.OK: good.pk, PointStatus.FAILED: failed.pk}
    event = AuditEvent.objects.get(action="backup.failed")
    assert event.payload["code"] == "source_missing" and event.payload["reason"] == failed.error
    page = client_for(viewer).get(f"/inventory/assets/{backed_asset.public_id}/").content.decode()
    assert "gone" not in page and "Earlier recovery points are untouched" in page
    page = client_for(commander).get(f"/inventory/assets/{backed_asset.public_id}/").content.decode()
    assert f"The source {source / 'gone'} does not exist." in page


def test_a_missing_key_fails_before_writing_anything(backed_asset, settings) -> None:
    settings.VAULT_KEY_ID = "not-in-the-ring"
    backup = run(backed_asset)
    assert backup.error_code == "key_missing"
    assert "not-in-the-ring" in backup.error


def test_a_full_vault_fails_with_vault_full(backed_asset, fs_vault) -> None:
    fs_vault.config = {**fs_vault.config, "reserve_bytes": 10**18}
    fs_vault.save()
    backup = run(backed_asset)
    assert backup.error_code == "vault_full"
    assert not RecoveryPoint.objects.filter(status=PointStatus.OK).exists()


def test_a_read_only_vault_fails_with_vault_read_only(backed_asset, fs_vault) -> None:
    root = Path(fs_vault.config["path"])
    root.mkdir(parents=True)
    if os.geteuid() == 0:
        # Permission bits do not stop root; sysfs refuses everyone.
        fs_vault.config = {"path": "/sys/drp-test-vault"}
        fs_vault.save()
    root.chmod(0o555)
    try:
        backup = run(backed_asset)
    finally:
        root.chmod(0o755)
    assert backup.error_code == "vault_read_only", backup.error
    assert "not writable" in backup.error


def test_progress_that_is_no_longer_ours_stops_the_copy(backed_asset) -> None:
    backup = backup_request(asset=backed_asset, by=None)
    claimed = backup_claim(backup_id=backup.pk)
    assert claimed is not None
    # Another worker re-claims it (attempt 2) while this one still holds attempt 1.
    Backup.objects.filter(pk=backup.pk).update(attempts=2)
    from inventory.services.backups import backup_progress

    assert backup_progress(backup=claimed, bytes_done=10, bytes_total=100) is False


def test_the_scheduler_queues_only_due_assets(backed_asset, django_capture_on_commit_callbacks) -> None:
    never = AssetFactory.create(name="never-backed", vault=backed_asset.vault)
    AssetFactory.create(name="no-policy", policy=None)
    run(backed_asset)
    with django_capture_on_commit_callbacks(execute=False):
        queued = backups_enqueue_due()
    assert [b.asset.name for b in queued] == ["never-backed"]
    assert never.backups.count() == 1
    later = timezone.now() + timedelta(minutes=backed_asset.policy.backup_cadence_minutes + 1)
    with django_capture_on_commit_callbacks(execute=False):
        queued = backups_enqueue_due(now=later)
    assert [b.asset.name for b in queued] == ["fraud-model"]  # never-backed still has one queued


def test_the_reconciler_redispatches_lost_messages_and_fails_dead_workers(
    backed_asset, settings, django_capture_on_commit_callbacks
) -> None:
    settings.BACKUP_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=False):
        backup = backup_request(asset=backed_asset, by=None)
    later = timezone.now() + timedelta(seconds=settings.BACKUP_STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert backups_reconcile(now=later) == [f"re-dispatched {backup.public_id}"]
    assert len(sent) == 1
    backup_claim(backup_id=backup.pk)
    much_later = timezone.now() + timedelta(seconds=2 * settings.BACKUP_STALE_SECONDS)
    assert backups_reconcile(now=much_later) == [f"failed {backup.public_id}"]
    backup.refresh_from_db()
    assert backup.status == BackupStatus.FAILED and backup.error_code == "worker_lost"


def test_retention_expires_only_old_unlocked_points_and_keeps_the_newest(backed_asset, fs_vault) -> None:
    first, second, third = run(backed_asset), run(backed_asset), run(backed_asset)
    points = {b.pk: RecoveryPoint.objects.get(backup=b) for b in (first, second, third)}
    # Inside WORM: nothing may go, however early retention says.
    with pytest.raises(VaultIOFailure, match="immutable until"):
        point_expire(point=points[first.pk])
    assert points_expire_due(now=timezone.now() + timedelta(days=1)) == []
    # Past retention (7 d) and WORM (2 d): the two older ones go, the newest stays.
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        expired = points_expire_due()
    assert {p.pk for p in expired} == {points[first.pk].pk, points[second.pk].pk}
    statuses = dict(RecoveryPoint.objects.values_list("pk", "status"))
    assert statuses[points[third.pk].pk] == PointStatus.OK
    assert statuses[points[first.pk].pk] == PointStatus.EXPIRED
    gone = Path(fs_vault.config["path"]) / str(backed_asset.public_id) / str(points[first.pk].public_id)
    assert not any(p.is_file() and not p.name.startswith(".") for p in gone.rglob("*"))
    assert AuditEvent.objects.filter(action="point.expired").count() == 2
