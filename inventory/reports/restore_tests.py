"""Restore tests: restore tests recorded in the period, recovery runs that finished in it, RTO achieved vs target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dr_portal.audit.selectors import events_of_action_between
from dr_portal.charts import Measured, achieved_vs_target_chart
from dr_portal.pdf.document import Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import achieved_of_target, day, rate, ts
from inventory.readiness import AssetReadiness
from inventory.reports.scope import CRITICAL_TIERS, MeasuredRun, Period


def restore_tests_section(
    period: Period, items: list[AssetReadiness], doc: ReportDocument, runs: Sequence[MeasuredRun]
) -> Section:
    events = events_of_action_between(action="asset.drill_recorded", start=period.start, end=period.end)
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
    critical = [r for r in items if r.asset.tier in CRITICAL_TIERS]
    tested = [r for r in critical if r.asset.last_drill_at and period.start <= r.asset.last_drill_at < period.end]
    untested = sorted(
        (r.asset for r in items), key=lambda a: (a.last_drill_at is not None, a.last_drill_at or a.created_at)
    )
    oldest = untested[0] if untested else None
    # The newest run in the period that measured an RTO for the asset (runs come oldest first).
    achieved: dict[str, int] = {}
    for run in runs:
        if run.rto_achieved_s is not None:
            for name in run.assets:
                achieved[name] = run.rto_achieved_s
    rto = [
        Measured(
            r.asset.name,
            timedelta(seconds=achieved[r.asset.name]) if r.asset.name in achieved else None,
            timedelta(minutes=r.asset.policy.rto_minutes),
        )
        for r in sorted(critical, key=lambda r: r.asset.name)
        if r.asset.policy
    ]
    if rto:
        doc.charts["rto"] = (
            achieved_vs_target_chart(rto, title="RTO achieved in restore tests vs target (tier 0-1)"),
            "RTO measured by the newest recovery run in the period that restored the asset (outage start → "
            "service verified), as a share of its policy's target; “not measured” where no run restored it.",
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
            Field("coverage", "Tier 0-1 assets restore-tested in the period", rate(len(tested), len(critical))),
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
