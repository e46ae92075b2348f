"""Blast radius: what lies downstream of failed assets, and the order to restore it in.

The walk happens in the database, in one recursive query, so a reader gets
only the edges below the failed assets, never the whole graph; the restore
order is then a layered topological sort, linear in those edges. A page that
only suggests what else is hit (the incident page) walks no further than the
nearest assets it counts (`downstream_nearest`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from inventory.models import Asset, Dependency


@dataclass(frozen=True)
class BlastRadius:
    failed: list[Asset]
    impacted: list[Asset]
    restore_groups: list[list[Asset]]

    @property
    def affected(self) -> list[Asset]:
        return [*self.failed, *self.impacted]


def _reach(seeds: list[int], *, probe: bool = False) -> tuple[str, list[int]]:
    """A `WITH RECURSIVE reach(id)` clause: the seeds and every asset downstream of them.

    UNION (not UNION ALL) keeps each asset once, so the walk ends even on a
    cycle a damaged graph might hold. With `probe`, each step on PostgreSQL
    looks up the edges of each asset it reached in the index (a walk that
    stops early must not read the whole edge table at every step, which a
    hash join does when the planner has no statistics to judge by; `OFFSET 0`
    keeps the lookup from being flattened into such a join).
    """
    edges = connection.ops.quote_name(Dependency._meta.db_table)
    assets = connection.ops.quote_name(Asset._meta.db_table)
    marks = ", ".join(["%s"] * len(seeds))
    step = f"SELECT e.downstream_id FROM {edges} e JOIN reach r ON e.upstream_id = r.id"  # noqa: S608
    if probe and connection.vendor == "postgresql":
        step = (
            "SELECT d.downstream_id FROM reach r CROSS JOIN LATERAL"  # noqa: S608
            f" (SELECT downstream_id FROM {edges} WHERE upstream_id = r.id OFFSET 0) d"
        )
    # Table names come from the models and every value is a parameter.
    sql = f"WITH RECURSIVE reach(id) AS (SELECT id FROM {assets} WHERE id IN ({marks}) UNION {step}) "  # noqa: S608
    return sql, seeds


def downstream_edges(asset_ids: Iterable[int]) -> list[tuple[int, int]]:
    """Every (upstream, downstream) edge below these assets, in one query."""
    seeds = sorted(set(asset_ids))
    if not seeds:
        return []
    reach, params = _reach(seeds)
    edges = connection.ops.quote_name(Dependency._meta.db_table)
    with connection.cursor() as cursor:
        below = f"SELECT e.upstream_id, e.downstream_id FROM {edges} e WHERE e.upstream_id IN (SELECT id FROM reach)"  # noqa: S608
        cursor.execute(reach + below, params)
        return [(up, down) for up, down in cursor.fetchall()]


def downstream_assets(asset_ids: Iterable[int]) -> QuerySet[Asset]:
    """The assets below these (not these themselves), as a queryset to count, order and slice in the database."""
    seeds = sorted(set(asset_ids))
    if not seeds:
        return Asset.objects.none()
    reach, params = _reach(seeds)
    reached = RawSQL(reach + "SELECT id FROM reach", params)  # noqa: S608, S611 - see _reach
    return Asset.objects.filter(pk__in=reached).exclude(pk__in=seeds)


@dataclass(frozen=True)
class Nearest:
    """Assets below some seeds, nearest first: by level below the nearest seed, then by name."""

    ids: list[int]  # never the seeds themselves
    complete: bool  # False: the walk stopped at its cap and more lie below


def downstream_nearest(asset_ids: Iterable[int], *, cap: int) -> Nearest:
    """At most `cap` assets below these, nearest first, in one query whose cost follows `cap`, not the graph.

    The walk is breadth first (PostgreSQL runs a recursive query one level at
    a time, and stops as soon as the `LIMIT` above it is met), so what it
    finds before the cap are the nearest assets; when the cap cuts a level,
    the part of that level it reached stands for the whole. The levels are
    worked out here from the edges into what it found.
    """
    seeds = sorted(set(asset_ids))
    if not seeds:
        return Nearest(ids=[], complete=True)
    reach, params = _reach(seeds, probe=True)
    edges = connection.ops.quote_name(Dependency._meta.db_table)
    assets = connection.ops.quote_name(Asset._meta.db_table)
    # One row more than the cap says whether there are more. Per asset found: its name (one index probe) and the
    # upstream end of each edge into it (one more); edges from outside what was found are dropped below.
    into = f"LEFT JOIN {edges} e ON e.downstream_id = f.id"
    if connection.vendor == "postgresql":
        into = f"LEFT JOIN LATERAL (SELECT upstream_id FROM {edges} WHERE downstream_id = f.id OFFSET 0) e ON true"  # noqa: S608
    found = (
        ", found(id) AS (SELECT id FROM reach LIMIT %s)"  # noqa: S608 - see _reach
        f" SELECT f.id, (SELECT a.name FROM {assets} a WHERE a.id = f.id), e.upstream_id FROM found f {into}"
    )
    with connection.cursor() as cursor:
        cursor.execute(reach + found, [*params, len(seeds) + cap + 1])
        rows = cursor.fetchall()
    names: dict[int, str] = {pk: name for pk, name, _ in rows}
    children: dict[int, list[int]] = {}
    for pk, _, up in rows:
        if up in names:
            children.setdefault(up, []).append(pk)
    level = dict.fromkeys(seeds, 0)
    layer, depth = list(seeds), 0
    while layer:
        depth += 1
        layer = [c for pk in layer for c in children.get(pk, []) if c not in level]
        level.update(dict.fromkeys(layer, depth))
    seen = set(seeds)
    below = sorted((pk for pk in names if pk not in seen), key=lambda pk: (level.get(pk, depth), names[pk], pk))
    return Nearest(ids=below[:cap], complete=len(below) <= cap)


def blast_radius(*, failed: Iterable[Asset]) -> BlastRadius:
    """Everything downstream of `failed`, and an order to restore it in.

    Restore groups run upstream first; the assets within one group do not
    depend on each other, so they may be restored in parallel. Upstreams that
    did not fail are not in the order.
    """
    failed_ids = {a.pk for a in failed}
    edges = downstream_edges(failed_ids)
    affected = failed_ids | {down for _, down in edges}
    by_id = {a.pk: a for a in Asset.objects.filter(pk__in=affected)}
    children: dict[int, list[int]] = {pk: [] for pk in affected}
    waiting: dict[int, int] = dict.fromkeys(affected, 0)  # parents inside the affected set not yet restored
    for up, down in set(edges):
        children[up].append(down)
        waiting[down] += 1
    groups: list[list[Asset]] = []
    ready = [pk for pk, n in waiting.items() if n == 0]
    remaining = set(affected)
    while remaining:
        if not ready:  # a cycle; dependency_add refuses them, but never loop forever
            ready = list(remaining)
        layer = sorted(ready, key=lambda pk: by_id[pk].name)
        groups.append([by_id[pk] for pk in layer])
        remaining -= set(layer)
        ready = []
        for pk in layer:
            for child in children[pk]:
                waiting[child] -= 1
                if waiting[child] == 0 and child in remaining:
                    ready.append(child)
    failed_rows = sorted((by_id[pk] for pk in failed_ids if pk in by_id), key=lambda a: a.name)
    impacted = sorted((by_id[pk] for pk in affected - failed_ids), key=lambda a: a.name)
    return BlastRadius(failed=failed_rows, impacted=impacted, restore_groups=groups)
