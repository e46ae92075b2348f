"""Readiness score, its trend and the RTO forecast: the score each asset holds now with every lost point in words,
the 90-day trend up to the period's end (the same SVG as the readiness page), roll-ups, and P(RTO met)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from dr_portal.charts import Series, line_chart
from dr_portal.pdf.document import Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import day
from inventory.models import Asset
from inventory.readiness import AssetReadiness
from inventory.reports.scope import CRITICAL_TIERS, Period
from inventory.verification.pages import ScoreLine, score_lines
from inventory.verification.selectors import TREND_DAYS, score_rollups, score_trend

LOSSES_SHOWN = 100  # assets in the "points lost" table, lowest score first


def _losses(line: ScoreLine) -> str:
    if line.score is None:
        return "not assessed yet"
    if not line.losses:
        return "none"
    return " ".join(f"{p['name']} -{p['lost']}: {p['reason']}" for p in line.losses)


def _trend_words(points: Sequence[tuple[date, int]]) -> str | None:
    if not points:
        return None
    (first_day, first), (last_day, last) = points[0], points[-1]
    if len(points) == 1:
        return f"{last} on {last_day} (one daily sample)"
    change = last - first
    return f"{first} on {first_day} → {last} on {last_day} ({'+' if change > 0 else ''}{change})"


def score_section(period: Period, items: list[AssetReadiness], doc: ReportDocument, now: datetime) -> Section:
    assets = list(
        Asset.objects.filter(pk__in=[r.asset.pk for r in items])
        .select_related("policy", "readiness_state")
        .order_by("name")
    )
    lines = score_lines(assets)
    scored = sorted((line for line in lines if line.score is not None), key=lambda line: (line.score, line.asset.name))
    overall = score_trend(end=period.last)
    in_period = [(d, v) for d, v in overall if period.first <= d <= period.last]
    if items:
        doc.charts["score_trend"] = (
            line_chart(
                [Series("all assets", overall, "ok"), Series("tier 0", score_trend(end=period.last, tier=0), "risk")],
                title=f"Average readiness score, {TREND_DAYS} days to {period.last.isoformat()}",
                end=period.last,
                days=TREND_DAYS,
            ),
            "Daily average of the assets' readiness scores (0-100; the last assessment of each UTC day). Guides at "
            "50 and 80. Days without a sample are gaps.",
        )
    average = round(sum(line.score or 0 for line in scored) / len(scored)) if scored else None
    lowest = scored[0] if scored else None
    critical = [line for line in lines if line.asset.tier in CRITICAL_TIERS]
    return Section(
        "score",
        "Readiness score, trend and RTO forecast",
        intro=(
            "Each asset scores 0-100 from how fresh each kind of evidence is (backup within RPO, restore test, drill, "
            "WORM and encryption, residency, alert coverage, an exercised plan); points decay as evidence ages. "
            "Scores are as at generation; the trend is the daily record."
        ),
        charts=["score_trend"] if items else [],
        fields=[
            Field(
                "score_average",
                "Average readiness score now (0-100)",
                average,
                note=f"over {len(scored)} assessed assets" if scored else "",
            ),
            Field(
                "score_lowest",
                "Lowest score now",
                f"{lowest.score} ({lowest.asset.name})" if lowest else None,
            ),
            Field(
                "score_trend",
                "Average score over the period",
                _trend_words(in_period),
                note="" if in_period else "no daily score was recorded in the period",
            ),
            Field("score_as_of", "Scores as of", day(now)),
        ],
        tables=[
            Table(
                "score_tiers",
                "Score per tier",
                ["Tier", "Assets", "Average", "Lowest"],
                [[r.key, r.assets, r.average, r.lowest] for r in score_rollups(by="tier")],
                empty="No asset has been assessed yet.",
            ),
            Table(
                "score_teams",
                "Score per team",
                ["Team", "Assets", "Average", "Lowest"],
                [[r.key, r.assets, r.average, r.lowest] for r in score_rollups(by="team")],
                empty="No asset has been assessed yet.",
            ),
            Table(
                "score_losses",
                "Points lost, lowest score first",
                ["Asset", "Tier", "Score", "Points lost, and why"],
                [[line.asset.name, line.asset.tier, line.score, _losses(line)] for line in scored[:LOSSES_SHOWN]],
                empty="No asset has been assessed yet.",
                note=f"The {LOSSES_SHOWN} lowest of {len(scored)} shown." if len(scored) > LOSSES_SHOWN else "",
            ),
            Table(
                "rto_forecast",
                "RTO forecast, tier 0-1 assets (from each asset's measured restores)",
                ["Asset", "Tier", "RTO target", "Forecast"],
                [
                    [
                        line.asset.name,
                        line.asset.tier,
                        f"{line.asset.policy.rto_minutes} min" if line.asset.policy else None,
                        line.forecast.text
                        + (
                            f" Typical restore: {line.forecast.parts.text}."
                            if line.forecast.parts and line.forecast.parts.known
                            else ""
                        ),
                    ]
                    for line in critical
                ],
                empty="No tier 0-1 asset in the inventory.",
            ),
        ],
    )
