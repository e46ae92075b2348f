"""Writes to the dependency graph between assets: an edge added (never closing a cycle) or removed."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from inventory.models import Asset, Dependency

# An arbitrary constant shared by every writer of the dependency graph.
_GRAPH_LOCK_KEY = 0x4452_5047_5241_5048


def _lock_graph() -> None:
    # Two edges added at once could close a cycle that neither check sees;
    # every graph writer takes this lock first. SQLite's IMMEDIATE
    # transactions are already serialised.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_GRAPH_LOCK_KEY])


def _path_between(start: int, goal: int, edges: Iterable[tuple[int, int]]) -> list[int] | None:
    """A path start → … → goal following upstream→downstream edges, or None."""
    children: dict[int, list[int]] = {}
    for up, down in edges:
        children.setdefault(up, []).append(down)
    parent: dict[int, int] = {}
    frontier, seen = [start], {start}
    while frontier:
        node = frontier.pop(0)
        if node == goal:
            path = [node]
            while node != start:
                node = parent[node]
                path.append(node)
            return path[::-1]
        for child in sorted(children.get(node, [])):
            if child not in seen:
                seen.add(child)
                parent[child] = node
                frontier.append(child)
    return None


@transaction.atomic
def dependency_add(*, upstream: Asset, downstream: Asset, by: User | None, note: str = "") -> Dependency:
    """Record that `downstream` needs `upstream`; refuses a cycle and names it."""
    if upstream.pk == downstream.pk:
        raise ValidationError({"upstream": f"{upstream.name} cannot depend on itself."})
    _lock_graph()
    existing = Dependency.objects.filter(upstream=upstream, downstream=downstream).first()
    if existing is not None:
        return existing
    edges = Dependency.objects.values_list("upstream_id", "downstream_id")
    back = _path_between(downstream.pk, upstream.pk, edges)
    if back is not None:
        names = dict(Asset.objects.filter(pk__in=back).values_list("pk", "name"))
        cycle = " → ".join([upstream.name, *(names[pk] for pk in back)])
        raise ValidationError({"upstream": f"This would make a cycle: {cycle}."})
    dependency = Dependency.objects.create(upstream=upstream, downstream=downstream, note=note[:200])
    audit_append(
        action="dependency.added",
        actor=by,
        system_actor="system:import",
        obj=downstream,
        payload={"upstream": upstream.name, "downstream": downstream.name, "note": dependency.note},
    )
    return dependency


@transaction.atomic
def dependency_remove(*, dependency: Dependency, by: User | None) -> None:
    _lock_graph()
    rows = Dependency.objects.select_related("upstream", "downstream")
    locked = rows.select_for_update(no_key=True).filter(pk=dependency.pk)
    row = locked.first()
    if row is None:
        return
    row.delete()
    audit_append(
        action="dependency.removed",
        actor=by,
        obj=row.downstream,
        payload={"upstream": row.upstream.name, "downstream": row.downstream.name},
    )
