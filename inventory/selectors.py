"""Reads for pages, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from inventory.models import (
    Asset,
    Backup,
    BackupStatus,
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


def dependency_edges() -> list[tuple[int, int]]:
    """Every dependency as (upstream asset pk, downstream asset pk)."""
    return list(Dependency.objects.values_list("upstream_id", "downstream_id"))


def blast_radius(*, failed: Iterable[Asset]) -> BlastRadius:
    """Everything downstream of `failed`, and an order to restore it in.

    Restore groups run upstream first; the assets within one group do not
    depend on each other, so they may be restored in parallel.
    """
    edges = dependency_edges()
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


# --- recovery points and backups, as the reports read them ---------------------------


def point_newest_good_before(*, asset_id: int, moment: datetime) -> RecoveryPoint | None:
    """The newest good point holding data as of `moment` or earlier: what a restore to that moment would use."""
    return (
        RecoveryPoint.objects.good().filter(asset_id=asset_id, data_as_of__lte=moment).order_by("-data_as_of").first()
    )


def points_newest_good(*, asset_ids: Iterable[int]) -> list[RecoveryPoint]:
    """Each asset's newest good point (with its asset and vault), by asset name."""
    points = (
        RecoveryPoint.objects.good()
        .filter(asset__in=list(asset_ids))
        .select_related("asset", "vault")
        .order_by("asset__name", "-data_as_of")
    )
    newest: dict[int, RecoveryPoint] = {}
    for point in points:
        newest.setdefault(point.asset_id, point)
    return list(newest.values())


def backups_created_between(*, start: datetime, end: datetime) -> list[Backup]:
    """Backups created in [start, end), with their asset."""
    return list(Backup.objects.filter(created_at__gte=start, created_at__lt=end).select_related("asset"))


def backup_outcomes_between(*, start: datetime, end: datetime) -> tuple[int, int]:
    """(succeeded, finished) for the backups created in [start, end); queued and running ones are not counted."""
    finished = Backup.objects.filter(
        created_at__gte=start, created_at__lt=end, status__in=[BackupStatus.SUCCEEDED, BackupStatus.FAILED]
    )
    return finished.filter(status=BackupStatus.SUCCEEDED).count(), finished.count()


def backup_next_success_finished_at(*, backup: Backup) -> datetime | None:
    """When the asset's first successful backup after `backup` finished: how long a failure stayed unfixed."""
    return (
        Backup.objects.filter(asset_id=backup.asset_id, status=BackupStatus.SUCCEEDED, created_at__gt=backup.created_at)
        .order_by("created_at")
        .values_list("finished_at", flat=True)
        .first()
    )
