"""Blast radius: what lies downstream of failed assets, and the order to restore it in.

The walk happens in the database, in one recursive query, so a reader gets
only the edges below the failed assets, never the whole graph; the restore
order is then a layered topological sort, linear in those edges.
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


def _reach(seeds: list[int]) -> tuple[str, list[int]]:
    """A `WITH RECURSIVE reach(id)` clause: the seeds and every asset downstream of them.

    UNION (not UNION ALL) keeps each asset once, so the walk ends even on a
    cycle a damaged graph might hold.
    """
    edges = connection.ops.quote_name(Dependency._meta.db_table)
    assets = connection.ops.quote_name(Asset._meta.db_table)
    marks = ", ".join(["%s"] * len(seeds))
    # Table names come from the models and every value is a parameter.
    sql = (
        f"WITH RECURSIVE reach(id) AS (SELECT id FROM {assets} WHERE id IN ({marks})"  # noqa: S608
        f" UNION SELECT e.downstream_id FROM {edges} e JOIN reach r ON e.upstream_id = r.id) "
    )
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
