"""Dashboard charts: RTO/RPO achieved vs target, incidents and MTTR per month (backup success: inventory/charts.py).

Drawn with the SVG helpers the PDFs use. An empty chart says that nothing was
measured, so it cannot pass for a good result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from django.utils import timezone
from django.utils.safestring import SafeString

from dr_portal.charts import Bar, Measured, achieved_vs_target_chart, bar_chart, short_duration
from incidents.models import Incident
from incidents.runs.models import RecoveryRun

MONTHS = 6


def _seconds(value: int | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def recovery_chart(*, limit: int = 10) -> SafeString | None:
    """RTO and RPO achieved as a share of target, for the newest finished runs."""
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
    return achieved_vs_target_chart(items, title="Recovery runs: RTO and RPO achieved as a share of target")


def incidents_chart() -> SafeString | None:
    """Real incidents per month (by severity) with their mean time to restore."""
    since = (timezone.now() - timedelta(days=31 * MONTHS)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = list(
        Incident.objects.filter(kind="real", declared_at__gte=since).values_list(
            "declared_at", "severity", "restored_at"
        )
    )
    if not rows:
        return None
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    restore: dict[str, list[float]] = defaultdict(list)
    for declared, severity, restored in rows:
        month = f"{declared:%Y-%m}"
        counts[month][severity] += 1
        if restored is not None:
            restore[month].append((restored - declared).total_seconds())
    bars = []
    for month in sorted(counts):
        by_sev = counts[month]
        total = sum(by_sev.values())
        mttr = restore[month]
        note = f"MTTR {short_duration(timedelta(seconds=sum(mttr) / len(mttr)))}" if mttr else "MTTR —"
        split = ", ".join(f"{n} {s}" for s, n in sorted(by_sev.items()))
        tone = "bad" if by_sev.get("SEV1") else "risk" if by_sev.get("SEV2") else "ok"
        bars.append(Bar(label=f"{month} ({split})", value=float(total), tone=tone, note=note))
    return bar_chart(bars, title="Incidents per month, by severity, with mean time to restore", label_width=240)
