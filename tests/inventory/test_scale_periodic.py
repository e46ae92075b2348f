"""Periodic tasks read only what is due: indexed next-due columns and the newest-point pointer, never history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import DrillSchedule
from incidents.services.drills import drills_open_due
from inventory.models import Asset, Backup
from inventory.services import backups_enqueue_due, points_verify_due, policy_update
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db


def next_backup(asset: Asset) -> Any:
    return Asset.objects.values_list("next_backup_at", flat=True).get(pk=asset.pk)


def test_the_scheduler_reads_one_row_set_when_nothing_is_due() -> None:
    policy = RecoveryPolicyFactory.create(backup_cadence_minutes=60)
    later = timezone.now() + timedelta(minutes=30)
    for _ in range(5):
        asset = AssetFactory.create(policy=policy)
        BackupFactory.create(asset=asset)
        Asset.objects.filter(pk=asset.pk).update(next_backup_at=later)
    with CaptureQueriesContext(connection) as captured:
        assert backups_enqueue_due() == []
    # One indexed query for the due assets; the backup history is not read.
    assert len(captured) == 1, [q["sql"] for q in captured]


def test_an_unknown_next_backup_is_worked_out_from_the_latest_backup_and_kept(
    django_capture_on_commit_callbacks: Any,
) -> None:
    asset = AssetFactory.create(policy=RecoveryPolicyFactory.create(backup_cadence_minutes=60))
    latest = BackupFactory.create(asset=asset, created_at=timezone.now() - timedelta(minutes=10))
    assert backups_enqueue_due() == []
    assert next_backup(asset) == latest.created_at + timedelta(minutes=60)
    with django_capture_on_commit_callbacks(execute=False):
        queued = backups_enqueue_due(now=timezone.now() + timedelta(minutes=51))
    assert [b.asset_id for b in queued] == [asset.pk]
    # Requesting the backup sets the next due time from it.
    assert next_backup(asset) == queued[0].created_at + timedelta(minutes=60)


def test_a_new_cadence_makes_the_scheduler_work_the_next_backup_out_again(admin: Any) -> None:
    policy = RecoveryPolicyFactory.create(backup_cadence_minutes=60)
    asset = AssetFactory.create(policy=policy)
    Asset.objects.filter(pk=asset.pk).update(next_backup_at=timezone.now() + timedelta(minutes=50))
    policy_update(policy=policy, by=admin, fields={"backup_cadence_minutes": 5})
    assert next_backup(asset) is None


def test_the_scheduler_reads_only_due_assets_however_long_their_history() -> None:
    policy = RecoveryPolicyFactory.create(backup_cadence_minutes=60)

    def queries(history: int) -> int:
        asset = AssetFactory.create(policy=policy)
        start = timezone.now() - timedelta(days=30)
        Backup.objects.bulk_create(
            [
                BackupFactory.build(asset=asset, vault=asset.vault, created_at=start + timedelta(minutes=n))
                for n in range(history)
            ]
        )
        BackupFactory.create(asset=asset, created_at=timezone.now())
        with CaptureQueriesContext(connection) as captured:
            assert backups_enqueue_due() == []
        return len(captured)

    assert queries(3) >= queries(300)


def test_verification_is_queued_for_each_assets_newest_point_through_its_pointer(
    django_capture_on_commit_callbacks: Any,
) -> None:
    old = timezone.now() - timedelta(days=30)

    def estate(n: int) -> tuple[int, list[int], list[int]]:
        newest: list[int] = []
        for _ in range(n):
            asset = AssetFactory.create()
            for hours in (72, 48, 24):
                point = RecoveryPointFactory.create(
                    asset=asset, data_as_of=timezone.now() - timedelta(hours=hours), verified_at=old
                )
            newest.append(point.pk)
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=False):
            due = points_verify_due()
        return len(captured), newest, due

    small, newest, due = estate(3)
    assert sorted(due) == sorted(newest)
    large, _, _ = estate(27)
    assert large <= small == 1


def test_the_drill_scheduler_opens_no_transaction_per_schedule_when_none_is_due() -> None:
    def queries(n: int) -> int:
        for _ in range(n):
            asset = AssetFactory.create(last_drill_at=timezone.now())
            DrillSchedule.objects.create(asset=asset)
        with CaptureQueriesContext(connection) as captured:
            assert drills_open_due() == []
        return len(captured)

    assert queries(3) == queries(30) == 1
