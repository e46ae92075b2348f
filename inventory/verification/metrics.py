"""Readiness scores for /metrics: average and lowest per tier and team; per asset with ``?per_asset=1``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from dr_portal.ops.metrics import register, scrape_option


@register
def score_metrics() -> Iterator[Metric]:
    from inventory.models import ReadinessState
    from inventory.verification.selectors import score_rollups

    for by in ("tier", "team"):
        average = GaugeMetricFamily(
            f"drp_readiness_score_avg_by_{by}", f"Average readiness score (0-100) per {by}.", labels=[by]
        )
        lowest = GaugeMetricFamily(
            f"drp_readiness_score_min_by_{by}", f"Lowest readiness score (0-100) per {by}.", labels=[by]
        )
        for group in score_rollups(by=by):
            # The roll-up's key is words for a page ("Tier 1"); a tier label is the bare number everywhere.
            key = group.key.removeprefix("Tier ") if by == "tier" else group.key
            average.add_metric([key], group.average)
            lowest.add_metric([key], group.lowest)
        yield average
        yield lowest
    if scrape_option("per_asset"):
        per_asset = GaugeMetricFamily(
            "drp_asset_readiness_score", "Readiness score per asset (0-100).", labels=["asset", "tier", "team"]
        )
        rows = ReadinessState.objects.filter(level__isnull=False).values_list(
            "asset__name", "asset__tier", "asset__owner_team", "score"
        )
        for name, tier, team, score in rows.order_by("asset__name").iterator(chunk_size=2000):
            per_asset.add_metric([name, str(tier), team], score)
        yield per_asset
