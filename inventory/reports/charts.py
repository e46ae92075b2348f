"""The readiness page's charts in the readiness PDF, drawn by the same code: the status roll-up per tier and team
(executive summary) and RTO/RPO achieved against target over time for the worst assets (restore tests).

What is not drawn is said in words, so a missing chart never reads as a good result.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from dr_portal.pdf.document import ReportDocument, Section
from inventory.readiness import AssetReadiness, worst_first
from inventory.reports.scope import Period
from inventory.selectors import readiness_rollups
from inventory.verification.pages import rollup_chart
from inventory.verification.selectors import score_rollups
from inventory.verification.target_history import HISTORY_ASSETS, HISTORY_DAYS, asset_history


def add_rollup_charts(doc: ReportDocument, section: Section) -> None:
    """Assets by status per tier and per team (as at generation), under the executive summary."""
    for by in ("tier", "team"):
        chart = rollup_chart(readiness_rollups(by=by), score_rollups(by=by), by=by)
        title = f"Assets by readiness status, per {by}"
        if chart is None:
            section.paragraphs.append(f"{title}: no asset has been assessed, so there is nothing to chart.")
            continue
        doc.charts[f"rollup_{by}"] = (
            chart,
            f"Each bar is one {by}'s assets as at generation, split into in breach, at risk and ok, with the "
            f"average and lowest readiness score. In words: {_described(chart)}",
            title,
        )
        section.charts.append(f"rollup_{by}")


def add_history_charts(
    doc: ReportDocument, section: Section, items: list[AssetReadiness], period: Period, now: datetime
) -> None:
    """RTO and RPO of each measured restore against the policy target, over the days up to the period's end."""
    end = min(period.end, now)
    chosen = [r.asset for r in worst_first(items) if r.asset.policy_id][:HISTORY_ASSETS]
    if not chosen:
        section.paragraphs.append(
            "RTO and RPO over time: no asset has a recovery policy, so nothing is measured against a target."
        )
    for index, asset in enumerate(chosen):
        history = asset_history(asset, now=end)
        if history.empty or history.wide is None:
            section.paragraphs.append(f"RTO and RPO over time: {history.reason}")
            continue
        key = f"history_{index}"
        doc.charts[key] = (
            history.wide,
            f"Each dot is one measured restore in the {HISTORY_DAYS} days to {end:%Y-%m-%d}, as a share of the "
            f"policy target (dashed line, 100 %); ringed dots missed it. In words: {history.text}",
            f"{asset.name}: RTO and RPO achieved against target, over time",
        )
        section.charts.append(key)


def _described(svg: str) -> str:
    """The chart's own <desc> (what it draws, in words), for the caption: a PDF reader may not extract SVG text."""
    found = re.search(r"<desc id=\"[^\"]+\">([^<]*)</desc>", svg)
    return html.unescape(found.group(1)) if found else ""
