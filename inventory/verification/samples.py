"""Each asset's daily readiness score, kept by the readiness refresh (see inventory.services.readiness), and
the daily sums per tier the score trend reads (inventory.verification.models.ReadinessScoreDay)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from inventory.verification.models import ReadinessSample, ReadinessScoreDay

log = logging.getLogger(__name__)


def readiness_samples_record(
    *, scores: Mapping[int, int], tiers: Mapping[int, int] | None = None, now: datetime | None = None
) -> None:
    """Keep today's score of each asset (the newest assessment of the day wins), under its tier.

    Call inside the transaction that stores the assessments, with the assets' readiness rows locked (as
    inventory.services.readiness does), so two refreshes of one asset cannot both replace the same sample:
    the day's sums move by the difference between the sample replaced and the new one.
    """
    if not scores:
        return
    day = (now or timezone.now()).date()
    tiers = tiers or {}
    old = ReadinessSample.objects.filter(day=day, asset_id__in=list(scores)).values_list("score", "tier")
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # tier -> [count, total]
    for score, tier in old:
        deltas[tier][0] -= 1
        deltas[tier][1] -= score
    new = {pk: tiers.get(pk, 0) for pk in scores}
    for pk, score in scores.items():
        deltas[new[pk]][0] += 1
        deltas[new[pk]][1] += score
    ReadinessSample.objects.bulk_create(
        [ReadinessSample(asset_id=pk, day=day, score=score, tier=new[pk]) for pk, score in scores.items()],
        update_conflicts=True,
        unique_fields=["asset", "day"],
        update_fields=["score", "tier"],
    )
    _days_apply(day, deltas)


def _days_apply(day: date, deltas: Mapping[int, list[int]]) -> None:
    for tier in sorted(deltas):  # in key order, so two writers cannot wait on each other in a cycle
        n, total = deltas[tier]
        if n == 0 and total == 0:
            continue
        change = {"count": F("count") + n, "total": F("total") + total}
        if ReadinessScoreDay.objects.filter(day=day, tier=tier).update(**change):
            continue
        if n < 0:  # only possible if the rows were edited by hand: a rebuild puts them right
            log.warning("readiness score day %s tier %s missing while a sample leaves it", day, tier)
            continue
        try:
            with transaction.atomic():  # a savepoint: another writer may make the same row first
                ReadinessScoreDay.objects.create(day=day, tier=tier, count=n, total=total)
        except IntegrityError:
            ReadinessScoreDay.objects.filter(day=day, tier=tier).update(**change)


def readiness_score_days_rebuild(sample_model: Any = None, day_model: Any = None) -> int:
    """Recount every day's sums from the samples in one aggregate query; returns the rows.

    Takes the models so the data migration can pass its historical ones; assumes no refresh runs meanwhile.
    """
    from django.db.models import Count, Sum

    samples = sample_model or ReadinessSample
    days = day_model or ReadinessScoreDay
    rows = samples.objects.order_by().values("day", "tier").annotate(n=Count("pk"), total=Sum("score"))
    made = [days(day=r["day"], tier=r["tier"], count=r["n"], total=r["total"]) for r in rows]
    with transaction.atomic():
        days.objects.all().delete()
        days.objects.bulk_create(made, batch_size=2000)
    return len(made)
