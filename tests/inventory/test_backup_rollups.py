"""Daily backup roll-ups (#12): kept by the services that finish a backup, filled from history by the
migration, and what the dashboard's backup chart and /metrics read instead of the history."""

from __future__ import annotations

import importlib
import uuid
from collections import Counter
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import Backup, BackupDay
from inventory.services.backups import backup_claim, backup_complete, backup_fail, backup_request
from inventory.services.rollups import backup_bucket, backup_days_rebuild
from inventory.vault_io import BackupResult
from tests.factories import AssetFactory, BackupFactory

pytestmark = pytest.mark.django_db


def _result(size: int) -> BackupResult:
    now = timezone.now()
    return BackupResult(
        point_id=uuid.uuid4(),
        data_as_of=now,
        size_bytes=size,
        file_count=2,
        manifest={"format": 2, "files": []},
        manifest_sha256="0" * 64,
        key_id="test",
        immutable_until=None,
        verified_at=now,
    )


def _claimed(asset: Any) -> Backup:
    backup = backup_claim(backup_id=backup_request(asset=asset, by=None).pk)
    assert backup is not None
    return backup


def _days() -> set[tuple[Any, ...]]:
    return set(BackupDay.objects.values_list("team", "tier", "status", "bucket", "count", "bytes"))


def test_a_finishing_backup_moves_its_days_roll_up() -> None:
    asset = AssetFactory.create(owner_team="payments", tier=0)
    assert not BackupDay.objects.exists()
    backup_complete(backup=_claimed(asset), result=_result(4096))
    assert _days() == {("payments", 0, "succeeded", 0, 1, 4096)}  # took under a second: bucket 0
    backup_complete(backup=_claimed(asset), result=_result(1000))
    assert _days() == {("payments", 0, "succeeded", 0, 2, 5096)}
    failing = _claimed(asset)
    Backup.objects.filter(pk=failing.pk).update(bytes_done=7)
    failing.refresh_from_db()
    backup_fail(backup=failing, code="io_error", reason="disk full")
    assert ("payments", 0, "failed", 0, 1, 7) in _days()
    day = BackupDay.objects.values_list("day", flat=True).distinct().get()
    assert day == timezone.now().astimezone(UTC).date()
    # A backup that never started (cancelled while queued) is counted with no duration.
    backup_fail(backup=backup_request(asset=asset, by=None), code="cancelled", reason="asset retired")
    assert ("payments", 0, "failed", -1, 1, 0) in _days()


def test_the_roll_up_commits_with_the_backup_or_not_at_all() -> None:
    asset = AssetFactory.create(owner_team="payments")
    backup = _claimed(asset)
    with pytest.raises(RuntimeError), transaction.atomic():
        backup_complete(backup=backup, result=_result(10))
        assert BackupDay.objects.exists()
        raise RuntimeError("the transaction that finished it rolls back")
    assert not BackupDay.objects.exists()
    assert Backup.objects.get(pk=backup.pk).status == "running"


def test_a_second_finish_of_the_same_backup_is_not_counted_twice() -> None:
    asset = AssetFactory.create(owner_team="payments")
    backup = _claimed(asset)
    backup_complete(backup=backup, result=_result(10))
    assert backup_complete(backup=backup, result=_result(10)) is None  # redelivered: nothing to finish
    assert backup_fail(backup=backup, code="io_error", reason="late") is None
    assert BackupDay.objects.aggregate(n=Sum("count"))["n"] == 1


def _history(now: Any) -> None:
    """Backups over 40 days, three teams, both outcomes, durations across buckets; none in the roll-ups yet."""
    teams = [AssetFactory.create(owner_team=team, tier=tier) for team, tier in (("a", 0), ("b", 1), ("c", 0))]
    for i in range(90):
        created = now - timedelta(days=i % 40, hours=i % 7)
        took = [None, 0.5, 3, 45, 400, 5000, 50000][i % 7]
        BackupFactory.create(
            asset=teams[i % 3],
            status="failed" if i % 5 == 0 else "succeeded",
            error="lost" if i % 5 == 0 else "",
            created_at=created,
            started_at=None if took is None else created,
            finished_at=created + timedelta(seconds=took or 1),
            bytes_done=i * 100,
            rollup=False,
        )
    BackupFactory.create(asset=teams[0], status="running", finished_at=None, rollup=False)  # not finished


def test_the_backfill_equals_a_recount_of_the_history() -> None:
    now = timezone.now()
    _history(now)
    assert not BackupDay.objects.exists()
    migration = importlib.import_module("inventory.migrations.0009_backfill_backup_days")
    migration.backfill(apps, None)
    finished = Backup.objects.filter(status__in=["succeeded", "failed"])
    # Per team and outcome: count and bytes, recounted from the backups with SQL.
    recount = {
        (r["asset__owner_team"], r["status"]): (r["n"], r["b"])
        for r in finished.values("asset__owner_team", "status").annotate(n=Count("pk"), b=Sum("bytes_done"))
    }
    rolled = {
        (r["team"], r["status"]): (r["n"], r["b"])
        for r in BackupDay.objects.values("team", "status").annotate(n=Sum("count"), b=Sum("bytes"))
    }
    assert rolled == recount and sum(n for n, _ in rolled.values()) == 90
    # Per day and duration bucket, recounted in Python.
    per_day: Counter[tuple[Any, int]] = Counter()
    for b in finished:
        assert b.finished_at is not None
        took = (b.finished_at - b.started_at).total_seconds() if b.started_at else None
        per_day[(b.created_at.astimezone(UTC).date(), backup_bucket(took))] += 1
    by_day: Counter[tuple[Any, int]] = Counter()
    for day, bucket, n in BackupDay.objects.values_list("day", "bucket", "count"):
        by_day[(day, bucket)] += n
    assert by_day == per_day
    seconds = sum((b.finished_at - b.started_at).total_seconds() for b in finished if b.started_at and b.finished_at)
    assert BackupDay.objects.aggregate(s=Sum("seconds"))["s"] == pytest.approx(seconds)
    # Rebuilt again it is the same (the migration can be rerun), and equals adding each backup as it finished.
    kept = _days()
    assert backup_days_rebuild() == BackupDay.objects.count() and _days() == kept


def _dashboard(client: Any) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as seen:
        html = client.get(reverse("dashboard")).content.decode()
    charts = html[html.index('id="charts"') : html.index('id="drills"')]
    return len(seen), charts


def test_the_dashboard_reads_the_roll_ups_not_the_history(client_for, commander) -> None:
    client = client_for(commander)
    asset = AssetFactory.create(owner_team="ml-platform")
    BackupFactory.create(asset=asset)
    BackupFactory.create(asset=asset, status="failed", error="vault full")
    queries, charts = _dashboard(client)
    assert "ml-platform" in charts and "1 of 2" in charts
    # Fifty more finished backups of many assets and teams: the page asks the same number of queries.
    for i in range(50):
        BackupFactory.create(asset=AssetFactory.create(owner_team=f"team-{i % 5}"))
    more_queries, charts = _dashboard(client)
    assert more_queries == queries and "10 of 10" in charts
    # History rows the roll-ups do not hold change nothing on the page: it does not read the history.
    now = timezone.now()
    Backup.objects.bulk_create(
        Backup(asset=asset, vault=asset.vault, trigger="manual", status="succeeded", created_at=now, finished_at=now)
        for _ in range(200)
    )
    assert _dashboard(client) == (queries, charts)
    # A backup older than the chart's 30 days is left out.
    BackupFactory.create(asset=asset, created_at=now - timedelta(days=31), finished_at=now - timedelta(days=31))
    assert "1 of 2" in _dashboard(client)[1]


def test_metrics_count_finished_backups_from_the_roll_ups_and_active_ones_live(settings) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    settings.METRICS_TOKEN = "scrape-secret"

    def scrape() -> dict[tuple[str, str], float]:
        body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").content.decode()
        return {
            (s.name, s.labels.get("status", "") + s.labels.get("le", "")): s.value
            for f in text_string_to_metric_families(body)
            for s in f.samples
            if s.name.startswith("drp_backup")
        }

    asset = AssetFactory.create(owner_team="payments")
    now = timezone.now()
    BackupFactory.create(asset=asset, started_at=now - timedelta(seconds=20), finished_at=now, bytes_done=10)
    BackupFactory.create(asset=asset, status="running", started_at=now, finished_at=None, bytes_done=3)
    got = scrape()
    assert got[("drp_backups", "succeeded")] == 1 and got[("drp_backups", "running")] == 1
    assert got[("drp_backup_bytes", "running")] == 3 and got[("drp_backup_bytes", "succeeded")] == 10
    assert got[("drp_backup_duration_seconds_bucket", "succeeded15.0")] == 0
    assert got[("drp_backup_duration_seconds_bucket", "succeeded30.0")] == 1
    # Finished history the roll-ups do not hold is not read; the scrape costs the same queries.
    with CaptureQueriesContext(connection) as before:
        scrape()
    Backup.objects.bulk_create(
        Backup(asset=asset, vault=asset.vault, trigger="manual", status="succeeded", created_at=now, finished_at=now)
        for _ in range(100)
    )
    with CaptureQueriesContext(connection) as after:
        assert scrape() == got
    assert len(after) == len(before)
