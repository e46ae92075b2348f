"""The score trend reads daily sums per tier (ReadinessScoreDay), kept with every sample in its transaction,
not every asset's sample of the last 90 days (900,000 rows at 10,000 assets) on each readiness page view."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.db.models import Avg
from django.test.utils import CaptureQueriesContext

from inventory.models import Asset
from inventory.services.readiness import readiness_refresh
from inventory.verification.models import ReadinessSample, ReadinessScoreDay
from inventory.verification.selectors import score_trend
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _sums() -> Counter[tuple[Any, int, str]]:
    out: Counter[tuple[Any, int, str]] = Counter()
    for day, tier, n, total in ReadinessScoreDay.objects.values_list("day", "tier", "count", "total"):
        out[(day, tier, "n")] += n
        out[(day, tier, "total")] += total
    return +out


def _recount() -> Counter[tuple[Any, int, str]]:
    out: Counter[tuple[Any, int, str]] = Counter()
    for day, tier, score in ReadinessSample.objects.values_list("day", "tier", "score"):
        out[(day, tier, "n")] += 1
        out[(day, tier, "total")] += score
    return +out


def _estate() -> list[Asset]:
    policy = RecoveryPolicyFactory.create(rpo_minutes=60, drill_cadence_days=90)
    assets = [AssetFactory.create(tier=n % 3, policy=policy if n % 2 else None) for n in range(6)]
    for asset in assets[::2]:
        RecoveryPointFactory.create(asset=asset, data_as_of=NOW - timedelta(minutes=30))
    return assets


def test_the_daily_sums_follow_each_sample_through_reassessments_and_a_tier_change() -> None:
    assets = _estate()
    ids = [a.pk for a in assets]
    for day in range(3):
        readiness_refresh(asset_ids=ids, now=NOW + timedelta(days=day))
        readiness_refresh(asset_ids=ids[:2], now=NOW + timedelta(days=day, hours=5))  # the day's newest wins
    Asset.objects.filter(pk=ids[0]).update(tier=3)
    readiness_refresh(asset_ids=ids[:1], now=NOW + timedelta(days=2, hours=6))  # moves to tier 3 that day
    assert _sums() == _recount()
    assert ReadinessSample.objects.get(asset_id=ids[0], day=(NOW + timedelta(days=2)).date()).tier == 3
    with time_machine.travel(NOW + timedelta(days=2, hours=7), tick=False):
        everything, tier3 = score_trend(), score_trend(tier=3)
    by_day = ReadinessSample.objects.values("day").annotate(avg=Avg("score")).order_by("day")
    assert everything == [(row["day"], round(row["avg"])) for row in by_day]
    assert tier3 == [((NOW + timedelta(days=2)).date(), ReadinessSample.objects.get(asset_id=ids[0], tier=3).score)]


def test_the_migration_fills_the_sums_from_the_samples() -> None:
    assets = _estate()
    for day in range(2):
        readiness_refresh(asset_ids=[a.pk for a in assets], now=NOW + timedelta(days=day))
    made = _sums()
    ReadinessScoreDay.objects.all().delete()
    ReadinessSample.objects.update(tier=0)
    importlib.import_module("inventory.verification.migrations.0004_readiness_score_days").backfill(apps, None)
    assert _sums() == made


def test_the_readiness_page_reads_no_sample_rows(client_for: Any, commander: Any) -> None:
    assets = _estate()
    readiness_refresh(asset_ids=[a.pk for a in assets])
    client = client_for(commander)
    with CaptureQueriesContext(connection) as seen:
        body = client.get("/inventory/readiness/").content.decode()
    assert not [q["sql"] for q in seen if "verification_readinesssample" in q["sql"]]
    assert "No daily score samples yet" not in body
