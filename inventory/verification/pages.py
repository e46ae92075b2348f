"""What the readiness page shows of continuous verification: scores, their trend, tier-0 forecasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from dr_portal.accounts.contents import shown
from dr_portal.charts import Series, line_chart
from dr_portal.rollup_chart import StackRow, status_stack_chart
from inventory.models import Asset
from inventory.readiness import Rollup
from inventory.verification.forecast import RtoForecast, forecasts_for
from inventory.verification.selectors import TREND_DAYS, ScoreRollup, score_rollups, score_trend

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
        # A reason quoting a failed backup may name a server path: shown in words unless one may restore.
        losses = [
            {**p, "lost": p["weight"] - p["got"], "reason": shown(p["reason"])} for p in parts if p["got"] < p["weight"]
        ]
        losses.sort(key=lambda p: -p["lost"])
        score = state.score if state is not None and state.level is not None else None
        lines.append(ScoreLine(asset, score, losses, forecasts[asset.pk]))
    return lines


def _trend_in_words(label: str, points: list[tuple[date, int]]) -> str:
    if not points:
        return f"{label}: no samples yet"
    (first_day, first), (last_day, last) = points[0], points[-1]
    low_day, low = min(points, key=lambda p: (p[1], p[0]))
    return (
        f"{label}: {last} on {last_day:%Y-%m-%d} ({first} on {first_day:%Y-%m-%d}; lowest {low} on {low_day:%Y-%m-%d})"
    )


def trend_chart() -> dict[str, Any]:
    """The score trend drawn twice (wide, and narrow for phones; CSS shows one) and said in words."""
    end = timezone.now().date()
    everything, tier0 = score_trend(), score_trend(tier=0)
    if not everything and not tier0:
        return {"empty": True, "text": "", "wide": None, "narrow": None}
    series = [Series("all assets", everything, "ok"), Series("tier 0", tier0, "risk")]
    text = "; ".join((_trend_in_words("All assets", everything), _trend_in_words("Tier 0", tier0))) + "."
    title = f"Average readiness score, last {TREND_DAYS} days"
    return {
        "empty": False,
        "text": text,
        "wide": line_chart(series, title=title, end=end, days=TREND_DAYS, desc=text, css="chart chart-wide"),
        "narrow": line_chart(
            series, title=title, end=end, days=TREND_DAYS, desc=text, width=380, height=220, css="chart chart-narrow"
        ),
    }


def rollup_chart(counts: list[Rollup], scores: list[ScoreRollup], *, by: str) -> SafeString | None:
    """Per tier or team: its assets split by status, with the average and lowest score as the note."""
    score_of = {s.key: s for s in scores}
    index = reverse("inventory:index")
    rows = []
    for group in sorted(counts, key=lambda g: g.key):
        score = score_of.get(group.key)
        if by == "tier":
            href = f"{index}?{urlencode({'tier': group.key.removeprefix('Tier ').strip()})}"
        else:
            href = f"{index}?{urlencode({'team': group.key})}"
        note = f"score {score.average} avg, {score.lowest} lowest" if score else ""
        rows.append(StackRow(group.key, dict(group.counts), note, href))
    title = f"Assets by readiness status, per {by}"
    return status_stack_chart(rows, title=title)


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
