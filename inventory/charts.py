"""Inventory charts for pages: backup success rate per team (dashboard, readiness), backup age against RPO."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from dr_portal.charts import Bar, Measured, backup_age_vs_rpo_chart, bar_chart
from inventory.models import BackupDay
from inventory.readiness import AssetReadiness
from inventory.services.rollups import FINISHED, backup_day


def backups_chart(*, days: int = 30, **size: Any) -> SafeString | None:
    """Share of backups that succeeded over the last `days` (today and the days before), per owner team;
    None when none finished.

    Read from the daily roll-ups (inventory.models.BackupDay): a few rows per day and team, however many
    backups ran. `size` passes on to `bar_chart` (width, label_width, note_width, css) for a narrow copy.
    """
    since = backup_day(timezone.now()) - timedelta(days=days - 1)
    rows = (
        BackupDay.objects.filter(day__gte=since, status__in=FINISHED)
        .values("team")
        .annotate(total=Sum("count"), ok=Sum("count", filter=Q(status="succeeded")))
        .order_by("team")
    )
    bars = []
    for row in rows:
        if not row["total"]:
            continue
        ok = row["ok"] or 0  # Sum over no succeeded rows is NULL
        rate = ok / row["total"]
        tone = "ok" if rate >= 0.99 else "risk" if rate >= 0.9 else "bad"
        bars.append(
            Bar(
                label=row["team"] or "—",
                value=rate * 100,
                tone=tone,
                note=f"{ok} of {row['total']}",
            )
        )
    if not bars:
        return None
    desc = "; ".join(f"{b.label}: {round(b.value or 0)} % ({b.note} succeeded)" for b in bars) + "."
    title = f"Backup success rate, last {days} days (%)"
    return bar_chart(bars, title=title, markers=[(100.0, "100 %")], cap=100.0, desc=desc, **size)


def rpo_chart(items: list[AssetReadiness], *, narrow: bool = False) -> Any:
    """The same chart the DR readiness report prints (dr_portal.charts), worst first, linked to each asset.

    `narrow` draws the copy phones see (CSS shows one of the two): short labels, large enough text.
    """
    with_rpo = sorted(items, key=lambda r: -(r.rpo_ratio if r.rpo_ratio is not None else 99))
    rows = [
        Measured(
            r.asset.name,
            r.backup_age,
            timedelta(minutes=r.asset.policy.rpo_minutes) if r.asset.policy else None,
            href=r.asset.get_absolute_url(),
        )
        for r in with_rpo
        if r.asset.policy_id
    ]
    if not rows:
        return None
    if narrow:
        return backup_age_vs_rpo_chart(rows, width=400, label_width=112, note_width=104, css="chart chart-narrow")
    return backup_age_vs_rpo_chart(rows, css="chart chart-wide")
