"""Reads for verification: the extra facts the score needs, score history, roll-ups."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import F, Min, Sum
from django.utils import timezone

from inventory.models import PlanStep, ReadinessGroup, RecoveryPlan
from inventory.verification.models import (
    EvidenceKind,
    ReadinessSample,
    ReadinessScoreDay,
    RestoreEvidence,
    RestoreTestPolicy,
)
from inventory.verification.score import RESTORE_TEST_CADENCE_DAYS, ScoreFacts

TREND_DAYS = 90
# Plans that scheduled restore tests keep for themselves are named with this prefix.
RESTORE_TEST_PLAN_PREFIX = "restore-test-"


def score_facts(*, asset_ids: Collection[int]) -> dict[int, ScoreFacts]:
    """ScoreFacts of many assets in five queries."""
    ids = list(asset_ids)
    # The plans restore tests make for themselves are not a runbook anyone wrote: they do not count.
    own = RecoveryPlan.objects.filter(name__startswith=RESTORE_TEST_PLAN_PREFIX).values("pk")
    planned = set(
        RecoveryPlan.assets.through.objects.filter(asset_id__in=ids)
        .exclude(recoveryplan_id__in=own)
        .values_list("asset_id", flat=True)
    )
    planned |= set(
        PlanStep.objects.filter(asset_id__in=ids).exclude(plan_id__in=own).values_list("asset_id", flat=True)
    )
    cadences = dict(
        RestoreTestPolicy.objects.filter(policy__assets__in=ids).values_list("policy__assets", "cadence_days")
    )
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
            restore_test_cadence_days=cadences.get(pk),
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
    """Average and lowest stored score per tier or team, lowest average first; one query over the roll-ups
    (inventory.models.ReadinessGroup: the sum of count * score over the count, the lowest score counted)."""
    column = "tier" if by == "tier" else "team"
    rows = (
        ReadinessGroup.objects.filter(count__gt=0)
        .values(column)
        .annotate(n=Sum("count"), total=Sum(F("count") * F("score")), low=Min("score"))
        .order_by(column)
    )
    out = [
        ScoreRollup(
            key=f"Tier {row[column]}" if by == "tier" else str(row[column]),
            assets=row["n"],
            average=round(row["total"] / row["n"]),
            lowest=row["low"] or 0,
        )
        for row in rows
    ]
    return sorted(out, key=lambda r: (r.average, r.key))


def score_trend(
    *, days: int = TREND_DAYS, asset_id: int | None = None, tier: int | None = None, end: date | None = None
) -> list[tuple[date, int]]:
    """Average daily score over the ``days`` up to ``end`` (today by default) of one asset, a tier (the
    assets sampled under it that day), or all; days without samples left out.

    A tier or all assets read the daily sums (ReadinessScoreDay: a few rows a day), not every sample.
    """
    end = end or timezone.now().date()
    since = end - timedelta(days=days - 1)
    if asset_id is not None:
        samples = ReadinessSample.objects.filter(asset_id=asset_id, day__gte=since, day__lte=end)
        return [(day, score) for day, score in samples.order_by("day").values_list("day", "score")]
    sums = ReadinessScoreDay.objects.filter(day__gte=since, day__lte=end, count__gt=0)
    if tier is not None:
        sums = sums.filter(tier=tier)
    daily = sums.values("day").annotate(n=Sum("count"), total=Sum("total")).order_by("day")
    return [(row["day"], round(row["total"] / row["n"])) for row in daily if row["n"]]


def restore_history(*, asset_id: int, limit: int = 50) -> list[RestoreEvidence]:
    """The asset's measured restores, newest first."""
    return list(RestoreEvidence.objects.filter(asset_id=asset_id).order_by("-finished_at")[:limit])


@dataclass(frozen=True)
class RestoreTestRule:
    cadence: timedelta
    point_choice: str
    window: timedelta
    enabled: bool = True


def restore_test_plans(*, assets: Collection[Any]) -> dict[int, RestoreTestRule]:
    """How each asset (with its policy loaded) is restore-tested: its policy's rules, else tier defaults."""
    from django.conf import settings

    policy_ids = {a.policy_id for a in assets if a.policy_id}
    rules = {r.policy_id: r for r in RestoreTestPolicy.objects.filter(policy_id__in=policy_ids)}
    plans = {}
    for asset in assets:
        rule = rules.get(asset.policy_id)
        if rule is not None:
            plans[asset.pk] = RestoreTestRule(
                timedelta(days=rule.cadence_days), rule.point_choice, timedelta(days=rule.window_days), rule.enabled
            )
        else:
            plans[asset.pk] = RestoreTestRule(
                timedelta(days=RESTORE_TEST_CADENCE_DAYS.get(asset.tier, 30)),
                settings.RESTORE_TEST_POINT,
                timedelta(days=settings.RESTORE_TEST_WINDOW_DAYS),
            )
    return plans
