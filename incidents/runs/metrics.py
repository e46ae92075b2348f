"""Run figures for /metrics: runs, steps and restores by outcome, their durations and bytes, approval waits.

Aggregates only: a fixed handful of GROUP BY queries per scrape, whatever the number of runs.
Durations are histograms (`_bucket`, `_sum`, `_count`, in seconds) over every finished row, so
histogram_quantile() over them gives percentiles and rate() gives recent ones.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from dr_portal.ops.metrics import APPROVAL_WAIT_BUCKETS, counts_by, durations_by, register, sums_by


@register
def run_metrics() -> Iterator[Metric]:
    from incidents.runs.models import ApprovalWait, RecoveryRun, StepRun, StepState
    from inventory.models import StepKind

    runs = RecoveryRun.objects.all()
    yield counts_by("drp_runs", "Recovery runs per status.", runs, "status", "status")
    yield durations_by(
        "drp_run_duration_seconds", "Finished runs: start to finish, per status.", runs, "status", "status"
    )
    steps = StepRun.objects.all()
    yield durations_by("drp_step_duration_seconds", "Finished steps: start to finish, per kind.", steps, "kind", "kind")
    restores = StepRun.objects.filter(kind=StepKind.RESTORE)
    yield counts_by("drp_restores", "Restore steps per state.", restores, "state", "state")
    yield durations_by(
        "drp_restore_duration_seconds",
        "Finished restore steps: start to finish, per state.",
        restores,
        "state",
        "state",
    )
    yield sums_by(
        "drp_restore_bytes",
        "Bytes written by restore steps, per state.",
        restores,
        "state",
        "state",
        total="bytes_done",
    )
    waiting = StepRun.objects.filter(state=StepState.WAITING_APPROVAL).aggregate(
        n=Count("pk"), oldest=Min("approval_requested_at")
    )
    count = GaugeMetricFamily("drp_steps_waiting_approval", "Steps waiting for an approval now.")
    count.add_metric([], waiting["n"])
    oldest = GaugeMetricFamily(
        "drp_approval_wait_seconds", "How long the longest-waiting step has waited for approval (0 when none)."
    )
    since = waiting["oldest"]
    oldest.add_metric([], (timezone.now() - since).total_seconds() if since else 0.0)
    yield from (count, oldest)
    yield durations_by(
        "drp_approval_decision_wait_seconds",
        "Requests for approval that ended in a decision: request to decision, per outcome.",
        ApprovalWait.objects.all(),
        "outcome",
        "outcome",
        start="requested_at",
        end="decided_at",
        buckets=APPROVAL_WAIT_BUCKETS,
    )
