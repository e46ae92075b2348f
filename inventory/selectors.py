"""Reads for pages, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from inventory.blast import BlastRadius, blast_radius, downstream_assets  # noqa: F401 - read from here too
from inventory.models import (
    Asset,
    Backup,
    BackupStatus,
    Dependency,
    PlanStep,
    PointStatus,
    ReadinessGroup,
    ReadinessState,
    RecoveryPlan,
    RecoveryPoint,
    RecoveryPolicy,
    Vault,
)
from inventory.querysets import AssetQuerySet
from inventory.readiness import LEVEL_BY_KEY, AssetReadiness, Check, Level, Rollup
from inventory.verification.selectors import RESTORE_TEST_PLAN_PREFIX

# Sorts of the inventory list, done by the database on the stored readiness.
SORTS: dict[str, list[Any]] = {
    "name": ["name"],
    "kind": ["kind", "name"],
    "tier": ["tier", "name"],
    "team": ["owner_team", "name"],
    "region": ["region", "name"],
    "status": [F("readiness_state__level").desc(nulls_first=True), "tier", "name"],
    "backup": [F("readiness_state__ok_data_as_of").desc(nulls_last=True), "name"],
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
    q_in_sources: bool = False  # only for people who may read sources (Asset.shown_source)


def stored_readiness(asset: Asset, *, now: datetime | None = None) -> AssetReadiness:
    """The readiness kept for `asset` (fetched with select_related("readiness_state")), as the rules' own type."""
    try:
        state: ReadinessState | None = asset.readiness_state
    except ReadinessState.DoesNotExist:
        state = None
    if state is None or state.level is None:
        waiting = Check("assessment", Level.RISK, "Not assessed yet; the next readiness sweep will.")
        return AssetReadiness(asset, [waiting])
    now = now or timezone.now()
    return AssetReadiness(
        asset,
        [Check(c["name"], Level(c["level"]), c["reason"]) for c in state.checks],
        backup_age=now - state.ok_data_as_of if state.ok_data_as_of else None,
        rpo=timedelta(seconds=state.rpo_seconds) if state.rpo_seconds is not None else None,
        data_as_of=state.ok_data_as_of,
        assessed_at=state.assessed_at,
    )


def _with_state() -> AssetQuerySet:
    return Asset.objects.select_related("policy", "vault", "readiness_state")


def asset_list(*, filters: AssetFilters) -> QuerySet[Asset]:
    """Assets filtered and sorted in the database on their stored readiness; paginate, then `stored_readiness`."""
    assets = (
        _with_state()
        .of_kind(filters.kind)
        .of_tier(filters.tier)
        .of_team(filters.team)
        .in_region(filters.region)
        .matching(filters.q, in_sources=filters.q_in_sources)
    )
    if filters.status in LEVEL_BY_KEY:
        assets = assets.filter(readiness_state__level=int(LEVEL_BY_KEY[filters.status]))
    order = SORTS.get(filters.sort, SORTS["name"])
    if filters.descending:
        order = [o.copy().reverse_ordering() if hasattr(o, "reverse_ordering") else f"-{o}" for o in order]
    return assets.order_by(*order, "pk")


def assets_in_order(ids: list[int]) -> list[Asset]:
    """The assets with these ids, in this order, with their state: the second half of a deferred join.

    A list sorts and pages `asset_list(...).values_list("pk", flat=True)` (narrow rows: the sort keys
    and the id), then fetches only the page's rows here, instead of sorting whole joined rows.
    """
    rows = _with_state().order_by().in_bulk(ids)  # no ORDER BY: the order is the ids' own
    return [rows[pk] for pk in ids if pk in rows]


def readiness_counts() -> dict[str, int]:
    """Assets per stored status, from the roll-ups (one query over a few rows, whatever the estate's size)."""
    counts = {level.key: 0 for level in Level}
    for row in ReadinessGroup.objects.filter(count__gt=0).values("level").annotate(n=Sum("count")):
        counts[Level(row["level"]).key] = row["n"]
    return counts


def readiness_worst(*, limit: int) -> list[AssetReadiness]:
    """The assets in the worst state, worst first: tier, then name (as of their last assessment).

    Sorted on the stored row alone, so its partial index (`readiness_worst_by_tier`) yields the first
    `limit` rows without sorting every asset in breach.
    """
    ids = (
        ReadinessState.objects.filter(level__gt=Level.OK)
        .order_by("-level", "counted_tier", "asset_name")
        .values_list("asset_id", flat=True)[:limit]
    )
    rows = assets_in_order(list(ids))  # sort narrow rows, then fetch the few (see assets_in_order)
    now = timezone.now()
    return [stored_readiness(a, now=now) for a in rows]


def readiness_nearest_rpo(*, limit: int) -> list[AssetReadiness]:
    """Assets with a policy, those without a good backup first, then by when their backup passes the RPO;
    ties by name.

    Read from the stored rows alone (whether the asset had a policy, and its name, as of its last
    assessment), each part from its own partial index: the first `limit` ids without sorting every asset.
    """
    assessed = ReadinessState.objects.filter(has_policy=True, level__isnull=False)
    bare = assessed.filter(rpo_breach_at__isnull=True).order_by("asset_name")
    ids = list(bare.values_list("asset_id", flat=True)[:limit])
    if len(ids) < limit:
        timed = assessed.filter(rpo_breach_at__isnull=False).order_by("rpo_breach_at", "asset_name")
        ids += timed.values_list("asset_id", flat=True)[: limit - len(ids)]
    rows = assets_in_order(ids)
    now = timezone.now()
    return [stored_readiness(a, now=now) for a in rows]


def readiness_rollups(*, by: str) -> list[Rollup]:
    """Counts by stored status per tier (`by="tier"`) or team (`by="team"`), worst groups first; one query
    over the roll-ups (inventory.models.ReadinessGroup)."""
    column = "tier" if by == "tier" else "team"
    groups: dict[str, Rollup] = {}
    rows = ReadinessGroup.objects.filter(count__gt=0).values(column, "level").annotate(n=Sum("count"))
    for row in rows:
        key = f"Tier {row[column]}" if by == "tier" else str(row[column])
        group = groups.setdefault(key, Rollup(key))
        level = Level(row["level"])
        group.counts[level.key] += row["n"]
        group.worst = max(group.worst, level)
    return sorted(groups.values(), key=lambda r: (-r.worst, -r.counts["breach"], -r.counts["at_risk"], r.key))


def readiness_page(
    *, status: str = "", tier: int | None = None, team: str = "", sort: str = "status"
) -> QuerySet[Asset]:
    """Assets for the readiness API: filtered and sorted on the stored state (paginate the result)."""
    return asset_list(
        filters=AssetFilters(
            status=status, tier=tier, team=team, sort=sort.lstrip("-"), descending=sort.startswith("-")
        )
    )


def _distinct_asset_values(column: str) -> list[str]:
    """The distinct values of an asset column that leads an index, in order, by a skip scan.

    `SELECT DISTINCT` reads every asset on each view of the inventory list; this asks the column's index
    (asset_team_name, asset_region_name) for the next value above the last one, once per distinct value.
    """
    if column not in ("owner_team", "region"):
        raise ValueError(column)
    table, name = connection.ops.quote_name(Asset._meta.db_table), connection.ops.quote_name(column)
    first = f"(SELECT {name} FROM {table} ORDER BY {name} LIMIT 1)"  # noqa: S608 - names above
    above = f"(SELECT {name} FROM {table} WHERE {name} > found.v ORDER BY {name} LIMIT 1)"  # noqa: S608
    sql = (
        f"WITH RECURSIVE found(v) AS (SELECT {first} UNION ALL SELECT {above} FROM found WHERE found.v IS NOT NULL)"  # noqa: S608
        " SELECT v FROM found WHERE v IS NOT NULL ORDER BY v"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [value for (value,) in cursor.fetchall()]


def asset_filter_choices() -> dict[str, list[str]]:
    return {"teams": _distinct_asset_values("owner_team"), "regions": _distinct_asset_values("region")}


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
    return RecoveryPoint.objects.filter(asset=asset).select_related("vault", "backup").order_by("-data_as_of")[:limit]


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


def dependency_edges() -> list[tuple[int, int]]:
    """Every dependency as (upstream asset pk, downstream asset pk)."""
    return list(Dependency.objects.values_list("upstream_id", "downstream_id"))


# --- recovery plans ------------------------------------------------------------------


def plan_list(*, automatic: bool = False) -> QuerySet[RecoveryPlan]:
    """People's plans, or (``automatic``) the ones scheduled restore tests keep for themselves."""
    plans = RecoveryPlan.objects.annotate(
        step_count=Count("steps", distinct=True), asset_count=Count("assets", distinct=True)
    )
    by_prefix = Q(name__startswith=RESTORE_TEST_PLAN_PREFIX)
    return (plans.filter(by_prefix) if automatic else plans.exclude(by_prefix)).order_by("name")


def plan_counts() -> tuple[int, int]:
    """(people's plans, restore-test plans), in one query."""
    by_prefix = Q(name__startswith=RESTORE_TEST_PLAN_PREFIX)
    counts = RecoveryPlan.objects.aggregate(automatic=Count("pk", filter=by_prefix), total=Count("pk"))
    return counts["total"] - counts["automatic"], counts["automatic"]


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
