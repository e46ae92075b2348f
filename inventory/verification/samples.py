"""Each asset's daily readiness score, kept by the readiness refresh (see inventory.services.readiness)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone

from inventory.verification.models import ReadinessSample


def readiness_samples_record(*, scores: Mapping[int, int], now: datetime | None = None) -> None:
    """Keep today's score of each asset (the newest assessment of the day wins)."""
    if not scores:
        return
    day = (now or timezone.now()).date()
    ReadinessSample.objects.bulk_create(
        [ReadinessSample(asset_id=pk, day=day, score=score) for pk, score in scores.items()],
        update_conflicts=True,
        unique_fields=["asset", "day"],
        update_fields=["score"],
    )
