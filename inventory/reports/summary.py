"""Executive summary of the readiness report: RAG status, headline rates, trend and top risks."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import Avg

from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import rate
from inventory.models import Backup, BackupStatus, ReadinessState
from inventory.readiness import AssetReadiness, Level, worst_first
from inventory.reports.restore_tests import RestoreCoverage
from inventory.reports.scope import Period, newest_good
from inventory.selectors import backup_outcomes_between


def summary_section(
    period: Period, items: list[AssetReadiness], backups: list[Backup], now: datetime, coverage: RestoreCoverage
) -> Section:
    counts = Counter(r.level for r in items)
    rag = "no assets" if not items else ("red" if counts[Level.BREACH] else "amber" if counts[Level.RISK] else "green")
    done = [b for b in backups if b.status in (BackupStatus.SUCCEEDED, BackupStatus.FAILED)]
    ok = sum(1 for b in done if b.status == BackupStatus.SUCCEEDED)
    prev = period.previous()
    prev_ok, prev_total = backup_outcomes_between(start=prev.start, end=prev.end)
    good = {r.asset.pk: newest_good(r) for r in items}
    with_backup = [r for r in items if good[r.asset.pk].data_as_of is not None]
    immutable = [r for r in with_backup if (until := good[r.asset.pk].immutable_until) and until > now]
    findings = sum(1 for r in items for c in r.checks if c.level == Level.BREACH)
    scored = ReadinessState.objects.filter(level__isnull=False, asset__in=[r.asset.pk for r in items]).aggregate(
        avg=Avg("score")
    )
    top = [f"{r.asset.name}: {r.problems[0].reason}" for r in worst_first(items) if r.problems][:5]
    return Section(
        "summary",
        "Executive summary",
        fields=[
            Field(
                "rag",
                "Readiness (RAG)",
                rag,
                note=f"{counts[Level.OK]} ok, {counts[Level.RISK]} at risk, {counts[Level.BREACH]} in breach",
            ),
            Field(
                "score",
                "Readiness score (average of the assets, 0-100)",
                round(scored["avg"]) if scored["avg"] is not None else None,
                note="Per asset, with every lost point, its trend and the RTO forecast: next section.",
            ),
            Field(
                "critical_tested",
                "Critical (tier 0-1) assets restore-tested in the period",
                coverage.figure,
                note="Restored by a recovery run or restore test, or a drill recorded, in the period; "
                "the RTO chart in Restore tests counts the same way.",
            ),
            Field("backup_success", "Backup success rate in the period", rate(ok, len(done))),
            Field(
                "immutable_coverage",
                "Immutable coverage (newest good backup locked)",
                rate(len(immutable), len(with_backup)),
            ),
            Field("open_findings", "Open high-severity findings (checks in breach)", findings),
            Field("trend", f"Backup success rate, previous period ({prev.label})", rate(prev_ok, prev_total)),
        ],
        tables=[
            Table("top_risks", "Top risks", ["Risk"], [[t] for t in top], empty="No asset is at risk or in breach.")
        ],
    )
