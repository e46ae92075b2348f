"""Readiness figures for /metrics, computed from the same facts as the pages."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from dr_portal.ops.metrics import register


@register
def readiness_metrics() -> Iterator[Metric]:
    from inventory.readiness import Level, readiness_for, rollup

    items = readiness_for()
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
    for item in items:
        name = item.asset.name
        status.add_metric([name, str(item.asset.tier), item.asset.owner_team], int(item.level))
        if item.backup_age is not None:
            age.add_metric([name], item.backup_age.total_seconds())
        if item.rpo is not None:
            rpo.add_metric([name], item.rpo.total_seconds())
        worst: dict[str, Level] = {}
        for c in item.checks:
            worst[c.name] = max(worst.get(c.name, Level.OK), c.level)
        for check_name, level in sorted(worst.items()):
            checks.add_metric([name, check_name], int(level))
    yield from (status, age, rpo, checks)
    for by in ("tier", "team"):
        family = GaugeMetricFamily(
            f"drp_readiness_assets_by_{by}", f"Assets per readiness status and {by}.", labels=[by, "status"]
        )
        for group in rollup(items, by=by):
            for key, count in group.counts.items():
                family.add_metric([group.key, key], count)
        yield family
