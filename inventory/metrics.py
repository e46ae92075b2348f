"""Readiness figures for /metrics, read from the stored readiness (inventory.services.readiness).

By default only aggregates (assets per status by tier and by team, read
from the roll-ups in inventory.models.ReadinessGroup), so a scrape costs a
few grouped queries over a few rows whatever the estate's size; per-asset
series come with `?per_asset=1` (set `params` in the Prometheus job).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from dr_portal.ops.metrics import register, scrape_option


@register
def backup_metrics() -> Iterator[Metric]:
    """Backups by outcome with their durations and bytes; assets with no good point yet, per tier.

    Finished backups come from the daily roll-ups (one GROUP BY over a few rows per day), queued and
    running ones from the backups themselves (an index on status): neither grows with the history.
    """
    from inventory.models import ACTIVE_BACKUP, BACKUP_DAY_BUCKETS, UNTIMED, Backup, BackupDay, ReadinessGroup

    counts = GaugeMetricFamily("drp_backups", "Backups per status.", labels=["status"])
    durations = HistogramMetricFamily(
        "drp_backup_duration_seconds", "Finished backups: start to finish, per status.", labels=["status"]
    )
    done_bytes = GaugeMetricFamily("drp_backup_bytes", "Bytes read by backups, per status.", labels=["status"])
    finished: dict[str, dict[int, tuple[int, int, float]]] = defaultdict(dict)
    for row in BackupDay.objects.values("status", "bucket").annotate(n=Sum("count"), b=Sum("bytes"), s=Sum("seconds")):
        finished[row["status"]][row["bucket"]] = (row["n"], row["b"], row["s"])
    active = (
        Backup.objects.filter(status__in=ACTIVE_BACKUP).values("status").annotate(n=Count("pk"), b=Sum("bytes_done"))
    )
    live = {row["status"]: (row["n"], row["b"] or 0) for row in active}
    for status in sorted(set(finished) | set(live)):
        per_bucket = finished.get(status, {})
        n, b = live.get(status, (0, 0))
        counts.add_metric([status], n + sum(v[0] for v in per_bucket.values()))
        done_bytes.add_metric([status], float(b + sum(v[1] for v in per_bucket.values())))
        if status in finished and any(k != UNTIMED for k in per_bucket):
            running, buckets = 0, []
            for i, bound in enumerate(BACKUP_DAY_BUCKETS):
                running += per_bucket.get(i, (0, 0, 0.0))[0]
                buckets.append((str(float(bound)), float(running)))
            timed = [v for k, v in per_bucket.items() if k != UNTIMED]
            buckets.append(("+Inf", float(sum(v[0] for v in timed))))
            durations.add_metric([status], buckets, sum(v[2] for v in timed))
    yield from (counts, durations, done_bytes)
    # drp_asset_backup_age_seconds has no series for an asset never backed up; this counts them (roll-ups).
    never = GaugeMetricFamily(
        "drp_assets_never_backed_up", "Assets with no good recovery point yet, per tier.", labels=["tier"]
    )
    rows = ReadinessGroup.objects.filter(no_point__gt=0).values("tier").annotate(n=Sum("no_point"))
    for row in rows.order_by("tier"):
        never.add_metric([str(row["tier"])], row["n"])
    yield never


@register
def readiness_metrics() -> Iterator[Metric]:
    from inventory.models import ReadinessGroup, ReadinessState
    from inventory.readiness import Level

    for by in ("tier", "team"):
        family = GaugeMetricFamily(
            f"drp_readiness_assets_by_{by}", f"Assets per readiness status and {by}.", labels=[by, "status"]
        )
        column = by  # the roll-ups (inventory.models.ReadinessGroup): a few rows per tier and team
        rows = ReadinessGroup.objects.filter(count__gt=0).values(column, "level").annotate(n=Sum("count"))
        for row in rows.order_by(column, "level"):
            key = str(row[column])  # the bare tier number, as in every other series' tier label
            family.add_metric([key, Level(row["level"]).key], row["n"])
        yield family
    due = GaugeMetricFamily(
        "drp_readiness_due_assets", "Assets whose readiness is due for reassessment (the sweep's backlog)."
    )
    due.add_metric([], ReadinessState.objects.filter(next_change_at__lte=timezone.now()).count())
    yield due
    if scrape_option("per_asset"):
        yield from _per_asset()


def _per_asset() -> Iterator[Metric]:
    from inventory.models import ReadinessState

    status = GaugeMetricFamily(
        "drp_asset_readiness", "Readiness per asset: 0 ok, 1 at risk, 2 breach.", labels=["asset", "tier", "team"]
    )
    age = GaugeMetricFamily(
        "drp_asset_backup_age_seconds", "Age of the newest good backup (absent when none).", labels=["asset"]
    )
    rpo = GaugeMetricFamily("drp_asset_rpo_seconds", "The asset's RPO target.", labels=["asset"])
    checks = GaugeMetricFamily(
        "drp_asset_check", "Each readiness check per asset: 0 ok, 1 at risk, 2 breach.", labels=["asset", "check"]
    )
    now = timezone.now()
    rows = ReadinessState.objects.filter(level__isnull=False).values_list(
        "asset__name", "asset__tier", "asset__owner_team", "level", "ok_data_as_of", "rpo_seconds", "checks"
    )
    for name, tier, team, level, data_as_of, rpo_seconds, stored_checks in rows.order_by("asset__name").iterator(
        chunk_size=2000
    ):
        status.add_metric([name, str(tier), team], float(level or 0))
        if data_as_of is not None:
            age.add_metric([name], (now - data_as_of).total_seconds())
        if rpo_seconds is not None:
            rpo.add_metric([name], rpo_seconds)
        worst: dict[str, int] = {}
        for check in stored_checks:
            worst[check["name"]] = max(worst.get(check["name"], 0), check["level"])
        for check_name, check_level in sorted(worst.items()):
            checks.add_metric([name, check_name], check_level)
    yield from (status, age, rpo, checks)
