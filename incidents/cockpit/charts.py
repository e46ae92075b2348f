"""Dashboard charts: RTO/RPO achieved vs target, incidents and MTTR per month (backup success: inventory/charts.py).

Drawn with the SVG helpers the PDFs use. An empty chart says that nothing was
measured, so it cannot pass for a good result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.safestring import SafeString

from dr_portal.charts import Bar, Measured, achieved_vs_target_chart, bar_chart, short_duration
from incidents.models import Incident
from incidents.runs.models import RecoveryRun
from inventory.charts import backups_chart

MONTHS = 6
# The copy phones see (CSS shows one of the two): a narrower frame, so its text is drawn larger on a small screen.
NARROW: dict[str, Any] = {"width": 400, "label_width": 150, "note_width": 90, "css": "chart chart-narrow"}
WIDE: dict[str, Any] = {"css": "chart chart-wide"}


def _seconds(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def recovery_chart(*, limit: int = 10) -> dict[str, SafeString] | None:
    """RTO and RPO achieved as a share of target, for the newest finished runs: wide and narrow, described in words."""
    runs = list(
        RecoveryRun.objects.filter(finished_at__isnull=False, achieved_rto_seconds__isnull=False)
        .select_related("plan")
        .order_by("-finished_at")[:limit]
    )
    if not runs:
        return None
    items: list[Measured] = []
    for run in runs:
        items.append(
            Measured(f"{run.reference} RTO", _seconds(run.achieved_rto_seconds), _seconds(run.rto_target_seconds))
        )
        items.append(
            Measured(f"{run.reference} RPO", _seconds(run.achieved_rpo_seconds), _seconds(run.rpo_target_seconds))
        )
    desc = "; ".join(_said(item) for item in items) + "."
    title = "Recovery runs: RTO and RPO achieved as a share of target"
    return {
        size: achieved_vs_target_chart(items, title=title, desc=desc, **options)
        for size, options in (("wide", WIDE), ("narrow", NARROW))
    }


def _said(item: Measured) -> str:
    if item.target is None:
        return f"{item.label}: no target"
    if item.achieved is None:
        return f"{item.label}: not measured"
    share = round(item.achieved / item.target * 100)
    return f"{item.label}: {short_duration(item.achieved)} against {short_duration(item.target)} ({share} %)"


def incidents_chart() -> dict[str, SafeString] | None:
    """Mean time to restore per month, real incidents only, with the month's incidents by severity in its label.

    The bar is the MTTR. A month with no restore measured (incidents still open, or only times that are not
    times) draws no bar: it says "not measured", so an open incident cannot pass for a zero-second restore.
    """
    since = (timezone.now() - timedelta(days=31 * MONTHS)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # Restored before, or within a second of, the declaration is a record written after the fact, not a time.
    timed = Q(restored_at__gte=F("declared_at") + timedelta(seconds=1))
    rows = (
        Incident.objects.filter(kind="real", declared_at__gte=since)
        .annotate(month=TruncMonth("declared_at"))
        .values("month", "severity")
        .annotate(
            n=Count("pk"),
            restored=Count("pk", filter=timed),
            took=Sum(F("restored_at") - F("declared_at"), filter=timed),
        )
        .order_by()
    )  # one row per month and severity, however many incidents
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    restore: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])  # month -> [seconds, restored incidents]
    for row in rows:
        month = f"{row['month']:%Y-%m}"
        counts[month][row["severity"]] += row["n"]
        if row["restored"]:
            restore[month][0] += row["took"].total_seconds()
            restore[month][1] += row["restored"]
    if not counts:
        return None
    bars = []
    for month in sorted(counts):
        by_sev = counts[month]
        took, restored = restore[month]
        split = ", ".join(f"{n} {s}" for s, n in sorted(by_sev.items()))
        tone = "bad" if by_sev.get("SEV1") else "risk" if by_sev.get("SEV2") else "ok"
        if restored:
            mean = took / restored
            note = f"MTTR {short_duration(timedelta(seconds=mean))}"
            bars.append(Bar(label=f"{month} ({split})", value=mean, tone=tone, note=note))
        else:
            bars.append(Bar(label=f"{month} ({split})", value=None, tone=tone, note="MTTR not measured"))
    desc = "; ".join(f"{b.label}: {sum(counts[b.label[:7]].values())} incidents, {b.note}" for b in bars) + "."
    title = "Mean time to restore per month, with incidents by severity"
    return {
        "wide": bar_chart(bars, title=title, label_width=240, desc=desc, css="chart chart-wide"),
        "narrow": bar_chart(bars, title=title, desc=desc, **{**NARROW, "label_width": 180, "note_width": 110}),
    }


def backup_charts() -> dict[str, SafeString] | None:
    """Backup success rate per team (inventory/charts.py), wide and narrow."""
    wide = backups_chart(**WIDE)
    if wide is None:
        return None
    narrow = backups_chart(width=400, label_width=112, note_width=104, css=NARROW["css"])
    return {"wide": wide, "narrow": narrow} if narrow is not None else None
