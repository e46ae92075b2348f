"""What the readiness page shows of continuous verification: scores, their trend, tier-0 forecasts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from dr_portal.charts import Series, line_chart
from inventory.models import Asset
from inventory.verification.forecast import RtoForecast, forecasts_for
from inventory.verification.selectors import TREND_DAYS, score_rollups, score_trend

TIER0_SHOWN = 30


@dataclass(frozen=True)
class ScoreLine:
    asset: Asset
    score: int | None
    losses: list[dict[str, Any]]
    forecast: RtoForecast

    @property
    def tone(self) -> str:
        if self.score is None:
            return "status-risk"
        return "status-ok" if self.score >= 80 else "status-risk" if self.score >= 50 else "status-bad"


def score_lines(assets: list[Asset]) -> list[ScoreLine]:
    """Score, the points lost in words and the RTO forecast of each asset (fetched with its readiness state)."""
    forecasts = forecasts_for(assets=assets)
    lines = []
    for asset in assets:
        state = getattr(asset, "readiness_state", None)
        parts = (state.facts or {}).get("score", []) if state is not None else []
        losses = [{**p, "lost": p["weight"] - p["got"]} for p in parts if p["got"] < p["weight"]]
        losses.sort(key=lambda p: -p["lost"])
        score = state.score if state is not None and state.level is not None else None
        lines.append(ScoreLine(asset, score, losses, forecasts[asset.pk]))
    return lines


def trend_chart() -> Any:
    end = timezone.now().date()
    series = [Series("all assets", score_trend(), "ok"), Series("tier 0", score_trend(tier=0), "risk")]
    return line_chart(series, title=f"Average readiness score, last {TREND_DAYS} days", end=end, days=TREND_DAYS)


def readiness_extras() -> dict[str, Any]:
    tier0 = list(
        Asset.objects.filter(tier=0).select_related("policy", "readiness_state").order_by("name")[:TIER0_SHOWN]
    )
    return {
        "score_tiers": score_rollups(by="tier"),
        "score_teams": score_rollups(by="team"),
        "trend": trend_chart(),
        "tier0": score_lines(tier0),
    }
