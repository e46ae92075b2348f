"""Reads for pages, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from inventory.models import (
    Asset,
    Backup,
    Dependency,
    PlanStep,
    PointStatus,
    RecoveryPlan,
    RecoveryPoint,
    RecoveryPolicy,
    Vault,
)
from inventory.readiness import LEVEL_BY_KEY, AssetReadiness, readiness_for

SORTS = {
    "name": lambda r: (r.asset.name,),
    "kind": lambda r: (r.asset.kind, r.asset.name),
    "tier": lambda r: (r.asset.tier, r.asset.name),
    "team": lambda r: (r.asset.owner_team, r.asset.name),
    "region": lambda r: (r.asset.region, r.asset.name),
    "status": lambda r: (-r.level, r.asset.tier, r.asset.name),
    "backup": lambda r: (r.backup_age is None, r.backup_age.total_seconds() if r.backup_age else 0, r.asset.name),
}


@dataclass(frozen=True)
class AssetFilters:
    kind: str = ""
    tier: int | None = None
    team: str = ""
    status: str = ""
    region: str = ""
    q: str = ""
    sort: str = "name"
    descending: bool = False


def asset_list(*, filters: AssetFilters, now: datetime | None = None) -> list[AssetReadiness]:
    """Assets with their readiness, filtered and sorted; a fixed number of queries whatever the size."""
    assets = (
        Asset.objects.with_facts()
        .of_kind(filters.kind)
        .of_tier(filters.tier)
        .of_team(filters.team)
        .in_region(filters.region)
        .matching(filters.q)
    )
    items = readiness_for(assets, now=now)
    if filters.status in LEVEL_BY_KEY:
        items = [r for r in items if r.level == LEVEL_BY_KEY[filters.status]]
    items.sort(key=SORTS.get(filters.sort, SORTS["name"]), reverse=filters.descending)
    return items


def asset_filter_choices() -> dict[str, list[str]]:
    teams = Asset.objects.order_by("owner_team").values_list("owner_team", flat=True).distinct()
    regions = Asset.objects.order_by("region").values_list("region", flat=True).distinct()
    return {"teams": list(teams), "regions": list(regions)}


def asset_dependencies(*, asset: Asset) -> tuple[list[Dependency], list[Dependency]]:
    """(edges into the asset from its upstreams, edges out to its downstreams)."""
    edges = Dependency.objects.filter(Q(upstream=asset) | Q(downstream=asset)).select_related("upstream", "downstream")
    ups = [e for e in edges if e.downstream_id == asset.pk]
    downs = [e for e in edges if e.upstream_id == asset.pk]
    return ups, downs


def asset_dependency_by_id(*, asset: Asset, dependency_id: int) -> Dependency | None:
    """An edge that touches `asset`, or None (an id from another asset's page is not found)."""
    return (
        Dependency.objects.filter(Q(upstream=asset) | Q(downstream=asset), pk=dependency_id)
        .select_related("upstream", "downstream")
        .first()
    )


def asset_points(*, asset: Asset, limit: int = 20) -> QuerySet[RecoveryPoint]:
    return RecoveryPoint.objects.filter(asset=asset).select_related("vault", "backup").order_by("-created_at")[:limit]


def point_previous(*, asset: Asset, vault: Vault) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(manifest or format-2 summary, stats) of the asset's newest good point in ``vault``."""
    row = (
        RecoveryPoint.objects.filter(asset=asset, vault=vault, status=PointStatus.OK)
        .order_by("-data_as_of")
        .values_list("manifest", "stats")
        .first()
    )
    return (row[0], row[1]) if row else (None, None)


def asset_backups(*, asset: Asset, limit: int = 10) -> QuerySet[Backup]:
    return Backup.objects.filter(asset=asset).select_related("vault", "requested_by").order_by("-created_at")[:limit]


def backup_latest(*, asset: Asset) -> Backup | None:
    return Backup.objects.filter(asset=asset).select_related("vault").order_by("-created_at").first()


def policy_list() -> QuerySet[RecoveryPolicy]:
    return RecoveryPolicy.objects.annotate(asset_count=Count("assets")).order_by("name")


def vault_list() -> QuerySet[Vault]:
    return Vault.objects.annotate(
        asset_count=Count("assets", distinct=True),
        point_count=Count("points", filter=Q(points__status=PointStatus.OK), distinct=True),
    ).order_by("name")


# --- blast radius -----------------------------------------------------------------


@dataclass(frozen=True)
class BlastRadius:
    failed: list[Asset]
    impacted: list[Asset]
    restore_groups: list[list[Asset]]

    @property
    def affected(self) -> list[Asset]:
        return [*self.failed, *self.impacted]


def _edges() -> list[tuple[int, int]]:
    return list(Dependency.objects.values_list("upstream_id", "downstream_id"))


def blast_radius(*, failed: Iterable[Asset]) -> BlastRadius:
    """Everything downstream of `failed`, and an order to restore it in.

    Restore groups run upstream first; the assets within one group do not
    depend on each other, so they may be restored in parallel.
    """
    edges = _edges()
    children: dict[int, set[int]] = {}
    for up, down in edges:
        children.setdefault(up, set()).add(down)
    failed_ids = {a.pk for a in failed}
    affected = set(failed_ids)
    frontier = list(failed_ids)
    while frontier:
        node = frontier.pop()
        for child in children.get(node, ()):
            if child not in affected:
                affected.add(child)
                frontier.append(child)
    by_id = {a.pk: a for a in Asset.objects.filter(pk__in=affected)}
    # Kahn's algorithm over the affected subgraph, one layer at a time.
    parents = {pk: {up for up, down in edges if down == pk and up in affected} for pk in affected}
    groups: list[list[Asset]] = []
    remaining = set(affected)
    while remaining:
        ready = sorted((pk for pk in remaining if not parents[pk] & remaining), key=lambda pk: by_id[pk].name)
        if not ready:  # a cycle; dependency_add refuses them, but never loop forever
            ready = sorted(remaining, key=lambda pk: by_id[pk].name)
        groups.append([by_id[pk] for pk in ready])
        remaining -= set(ready)
    failed_rows = sorted((by_id[pk] for pk in failed_ids if pk in by_id), key=lambda a: a.name)
    impacted = sorted((by_id[pk] for pk in affected - failed_ids), key=lambda a: a.name)
    return BlastRadius(failed=failed_rows, impacted=impacted, restore_groups=groups)


# --- recovery plans ------------------------------------------------------------------


def plan_list() -> QuerySet[RecoveryPlan]:
    return RecoveryPlan.objects.annotate(
        step_count=Count("steps", distinct=True), asset_count=Count("assets", distinct=True)
    ).order_by("name")


def plan_steps(*, plan: RecoveryPlan) -> list[tuple[int, list[PlanStep]]]:
    """The plan's steps by group, in order: each group may run in parallel once the previous is done."""
    groups: dict[int, list[PlanStep]] = {}
    for step in plan.steps.select_related("asset").order_by("position"):
        groups.setdefault(step.group, []).append(step)
    return sorted(groups.items())
