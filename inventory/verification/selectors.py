"""Reads for verification: the extra facts the score needs, score history, roll-ups."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count, Min
from django.utils import timezone

from inventory.models import PlanStep, ReadinessState, RecoveryPlan
from inventory.verification.models import EvidenceKind, ReadinessSample, RestoreEvidence
from inventory.verification.score import ScoreFacts

TREND_DAYS = 90


def score_facts(*, asset_ids: Collection[int]) -> dict[int, ScoreFacts]:
    """ScoreFacts of many assets in three queries."""
    ids = list(asset_ids)
    planned = set(RecoveryPlan.assets.through.objects.filter(asset_id__in=ids).values_list("asset_id", flat=True))
    planned |= set(PlanStep.objects.filter(asset_id__in=ids).values_list("asset_id", flat=True))
    newest: dict[int, tuple[object, bool]] = {}
    tests = (
        RestoreEvidence.objects.filter(asset_id__in=ids, kind=EvidenceKind.RESTORE_TEST)
        .order_by("asset_id", "-finished_at")
        .values_list("asset_id", "finished_at", "passed")
    )
    for asset_id, finished_at, passed in tests:
        newest.setdefault(asset_id, (finished_at, passed))
    return {
        pk: ScoreFacts(
            has_plan=pk in planned,
            test_at=newest[pk][0] if pk in newest else None,  # type: ignore[arg-type]
            test_passed=newest[pk][1] if pk in newest else False,
        )
        for pk in ids
    }


@dataclass(frozen=True)
class ScoreRollup:
    key: str
    assets: int
    average: int
    lowest: int


def score_rollups(*, by: str) -> list[ScoreRollup]:
    """Average and lowest stored score per tier or team, lowest average first; one query."""
    column = "asset__tier" if by == "tier" else "asset__owner_team"
    rows = (
        ReadinessState.objects.filter(level__isnull=False)
        .values(column)
        .annotate(n=Count("pk"), avg=Avg("score"), low=Min("score"))
        .order_by(column)
    )
    out = [
        ScoreRollup(
            key=f"Tier {row[column]}" if by == "tier" else str(row[column]),
            assets=row["n"],
            average=round(row["avg"] or 0),
            lowest=row["low"] or 0,
        )
        for row in rows
    ]
    return sorted(out, key=lambda r: (r.average, r.key))


def score_trend(
    *, days: int = TREND_DAYS, asset_id: int | None = None, tier: int | None = None
) -> list[tuple[date, int]]:
    """Average daily score over the last ``days`` (one asset, a tier, or all); days without samples left out."""
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = ReadinessSample.objects.filter(day__gte=since)
    if asset_id is not None:
        rows = rows.filter(asset_id=asset_id)
    if tier is not None:
        rows = rows.filter(asset__tier=tier)
    daily = rows.values("day").annotate(avg=Avg("score")).order_by("day")
    return [(row["day"], round(row["avg"])) for row in daily]


def restore_history(*, asset_id: int, limit: int = 50) -> list[RestoreEvidence]:
    """The asset's measured restores, newest first."""
    return list(RestoreEvidence.objects.filter(asset_id=asset_id).order_by("-finished_at")[:limit])
