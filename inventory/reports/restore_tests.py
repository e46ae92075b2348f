"""Restore tests: restore tests recorded in the period, recovery runs that finished in it, RTO achieved vs target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.selectors import events_of_action_between
from dr_portal.charts import Measured, achieved_vs_target_chart
from dr_portal.pdf.document import Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import achieved_of_target, day, rate, ts
from inventory.readiness import AssetReadiness
from inventory.reports.scope import CRITICAL_TIERS, MeasuredRun, Period


@dataclass(frozen=True)
class RestoreCoverage:
    """Which critical assets were restore-tested in the period, and how: the one count the summary, the
    Restore tests section and its RTO chart all print.

    Tested means a recovery run (drill, restore test or real recovery) that finished in the period
    restored the asset, or a drill was recorded for it in the period (`asset.drill_recorded`).
    The chart draws every critical asset with a policy: the RTO of the newest run that measured one,
    "not measured" for an asset tested without a measured RTO, and "(untested)" after the name of one
    not tested at all.
    """

    critical: list[AssetReadiness]
    tested: dict[str, list[str]]  # any asset's name -> how ("run RR-3 (succeeded)", "drill recorded, seq 41")
    rto_seconds: dict[str, int]  # asset name -> RTO of the newest run in the period that measured one

    @property
    def figure(self) -> str:
        return rate(sum(1 for r in self.critical if r.asset.name in self.tested), len(self.critical))

    @property
    def untested(self) -> list[str]:
        return sorted(r.asset.name for r in self.critical if r.asset.name not in self.tested)


def restore_coverage(
    items: list[AssetReadiness], runs: Sequence[MeasuredRun], drills: Sequence[AuditEvent]
) -> RestoreCoverage:
    critical = [r for r in items if r.asset.tier in CRITICAL_TIERS]
    names = {r.asset.name for r in items}
    by_id = {str(r.asset.public_id): r.asset.name for r in items}
    tested: dict[str, list[str]] = {}
    rto: dict[str, int] = {}
    for run in runs:  # oldest first, so the newest measurement wins
        for name in run.assets:
            if name in names:
                tested.setdefault(name, []).append(f"run {run.reference} ({run.status.lower()})")
                if run.rto_achieved_s is not None:
                    rto[name] = run.rto_achieved_s
    for event in drills:
        drilled = by_id.get(event.object_id)
        if drilled is not None:
            tested.setdefault(drilled, []).append(f"drill recorded, seq {event.seq}")
    return RestoreCoverage(critical=critical, tested=tested, rto_seconds=rto)


def drills_recorded(period: Period) -> list[AuditEvent]:
    return list(events_of_action_between(action="asset.drill_recorded", start=period.start, end=period.end))


def restore_tests_section(
    items: list[AssetReadiness],
    doc: ReportDocument,
    runs: Sequence[MeasuredRun],
    events: Sequence[AuditEvent],
    coverage: RestoreCoverage,
) -> Section:
    by_id = {str(r.asset.public_id): r.asset for r in items}
    rows = []
    for e in events:
        asset = by_id.get(e.object_id)
        p = e.payload
        rows.append(
            [
                e.seq,
                ts(e.recorded_at),
                asset.name if asset else e.object_id,
                p.get("outcome") or "recorded",
                None,
                None,
                p.get("evidence") or None,
            ]
        )
    untested = sorted(
        (r.asset for r in items if r.asset.name not in coverage.tested),
        key=lambda a: (a.last_drill_at is not None, a.last_drill_at or a.created_at),
    )
    oldest = untested[0] if untested else None
    rto = [
        Measured(
            r.asset.name if r.asset.name in coverage.tested else f"{r.asset.name} (untested)",
            timedelta(seconds=coverage.rto_seconds[r.asset.name]) if r.asset.name in coverage.rto_seconds else None,
            timedelta(minutes=r.asset.policy.rto_minutes),
        )
        for r in sorted(coverage.critical, key=lambda r: r.asset.name)
        if r.asset.policy
    ]
    if rto:
        doc.charts["rto"] = (
            achieved_vs_target_chart(rto, title="RTO achieved in restore tests vs target (tier 0-1)"),
            "RTO measured by the newest recovery run in the period that restored the asset (outage start → "
            "service verified), as a share of its policy's target; “not measured” where the asset was tested "
            "without a measured RTO, and “(untested)” after an asset nothing restored in the period.",
            "RTO achieved in restore tests vs target (tier 0-1)",
        )
    run_rows = [
        [
            run.reference,
            run.mode,
            run.status,
            ", ".join(run.assets) or None,
            ts(run.finished_at),
            achieved_of_target(run.rto_achieved_s, run.rto_target_s),
            achieved_of_target(run.rpo_achieved_s, run.rpo_target_s),
        ]
        for run in runs
    ]
    return Section(
        "restore_tests",
        "Restore tests",
        intro="HIPAA §164.308(a)(7)(ii)(B), (D); GDPR Art. 32(1)(d).",
        charts=["rto"] if rto else [],
        fields=[
            Field("coverage", "Tier 0-1 assets restore-tested in the period", coverage.figure),
            Field(
                "tested_assets",
                "Restore-tested, and how",
                "; ".join(f"{name}: {', '.join(how)}" for name, how in sorted(coverage.tested.items())) or "none",
            ),
            Field("untested_assets", "Tier 0-1 assets not restore-tested in the period", ", ".join(coverage.untested)),
            Field(
                "oldest_untested",
                "Oldest untested asset",
                f"{oldest.name} (last drill {day(oldest.last_drill_at) or 'never'})" if oldest else None,
            ),
        ],
        tables=[
            Table(
                "tests",
                "Tests recorded in the period",
                ["Seq", "Recorded", "Asset", "Outcome", "RTO achieved", "RPO achieved", "Evidence"],
                rows,
                empty="No restore test was recorded in the period.",
            ),
            Table(
                "runs",
                "Recovery runs finished in the period",
                ["Run", "Mode", "Status", "Assets", "Finished", "RTO achieved / target", "RPO achieved / target"],
                run_rows,
                empty="No recovery run finished in the period.",
            ),
        ],
    )
