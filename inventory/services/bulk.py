"""Bulk writes for imports and loaders: many assets and edges in a few statements.

The same rules as `asset_create` and `dependency_add`, applied to a whole
batch at once so that an import grows linearly with its size: fields are
validated row by row in Python, rows are inserted with `bulk_create`, the
dependency graph is read once and checked for cycles once, and the audit
events go in through one `audit_append_many`. Nothing is written unless the
whole batch is valid; errors come back keyed by the item's position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import EventSpec, audit_append_many
from inventory.fields import ASSET_FIELDS
from inventory.models import Asset, Dependency, ReadinessState
from inventory.services.catalog import _assign, _jsonable
from inventory.services.dependencies import _lock_graph
from inventory.services.readiness import readiness_facts_changed

BATCH = 1000


def assets_create_many(
    *, items: Sequence[Mapping[str, Any]], by: User | None, system_actor: str = "system:import"
) -> tuple[list[Asset], dict[int, ValidationError]]:
    """Create one asset per item (Asset field names; policy and vault as rows), all or none.

    Returns the assets, or no assets and the errors by item position. Names are
    checked against each other and against existing assets.
    """
    now = timezone.now()
    errors: dict[int, ValidationError] = {}
    assets: list[Asset] = []
    seen: dict[str, int] = {}
    for index, fields in enumerate(items):
        asset = Asset(created_at=now, updated_at=now)
        try:
            _assign(asset, fields, ASSET_FIELDS)
            if asset.policy_id:
                asset.policy_assigned_at = now
            # Uniqueness is checked below for the whole batch (one query, not one per row);
            # the check constraints are those the field validators already enforce.
            # Policy and vault arrive as rows already read, so their existence is not queried again.
            asset.full_clean(exclude=["policy", "vault"], validate_unique=False, validate_constraints=False)
        except ValidationError as invalid:
            errors[index] = invalid
            continue
        if asset.name in seen:
            errors[index] = ValidationError({"name": f"{asset.name} is also on another row of this import."})
            continue
        seen[asset.name] = index
        assets.append(asset)
    for name in Asset.objects.filter(name__in=list(seen)).values_list("name", flat=True):
        errors[seen[name]] = ValidationError({"name": f"An asset named {name} already exists."})
    if errors:
        return [], errors
    with transaction.atomic():
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        ReadinessState.objects.bulk_create(
            [ReadinessState(asset=a, next_change_at=now) for a in assets], batch_size=BATCH
        )
        audit_append_many(
            events=[
                EventSpec(
                    action="asset.created",
                    actor=by,
                    system_actor=system_actor,
                    obj=a,
                    payload={name: _jsonable(getattr(a, name)) for name in sorted(ASSET_FIELDS)},
                )
                for a in assets
            ]
        )
        readiness_facts_changed(asset_ids=[a.pk for a in assets])
    return assets, {}


def _cycle_through(children: dict[int, set[int]], nodes: set[int]) -> list[int]:
    """One cycle among `nodes` (each of which lies on or below a cycle), as [a, b, …, a]."""
    start = min(nodes)
    # Walking forward inside `nodes` from any of them must come back to a node already walked.
    path: list[int] = []
    position: dict[int, int] = {}
    node = start
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = min(c for c in children[node] if c in nodes)
    return [*path[position[node] :], node]


def _remaining_after_topological_sort(children: dict[int, set[int]]) -> set[int]:
    indegree: dict[int, int] = dict.fromkeys(children, 0)
    for downs in children.values():
        for down in downs:
            indegree[down] = indegree.get(down, 0) + 1
    ready = [n for n, d in indegree.items() if d == 0]
    remaining = set(indegree)
    while ready:
        node = ready.pop()
        remaining.discard(node)
        for down in children.get(node, ()):
            indegree[down] -= 1
            if indegree[down] == 0:
                ready.append(down)
    return remaining


def dependencies_add_many(
    *, edges: Sequence[tuple[Asset, Asset, str]], by: User | None, system_actor: str = "system:import"
) -> tuple[int, dict[int, ValidationError]]:
    """Add (upstream, downstream, note) edges, all or none; returns (how many were new, errors by position).

    The graph is read once and checked for cycles once, with the new edges in
    it. A cycle is reported on the new edge that closes it (the last of its
    edges in the batch), named as `dependency_add` names it.
    """
    _lock_graph()
    errors: dict[int, ValidationError] = {}
    children: dict[int, set[int]] = {}
    for up, down in Dependency.objects.values_list("upstream_id", "downstream_id").iterator(chunk_size=5000):
        children.setdefault(up, set()).add(down)
        children.setdefault(down, set())
    existing = {(up, down) for up, downs in children.items() for down in downs}
    new: dict[tuple[int, int], int] = {}
    names: dict[int, str] = {}
    for index, (upstream, downstream, _note) in enumerate(edges):
        names[upstream.pk], names[downstream.pk] = upstream.name, downstream.name
        if upstream.pk == downstream.pk:
            errors[index] = ValidationError({"upstream": f"{upstream.name} cannot depend on itself."})
            continue
        key = (upstream.pk, downstream.pk)
        if key in existing or key in new:
            continue
        new[key] = index
        children.setdefault(upstream.pk, set()).add(downstream.pk)
        children.setdefault(downstream.pk, set())
    remaining = _remaining_after_topological_sort(children)
    if remaining:
        # Only nodes on a cycle keep a successor among the remaining ones; trim the rest.
        while True:
            dead = {n for n in remaining if not children[n] & remaining}
            if not dead:
                break
            remaining -= dead
        cycle = _cycle_through(children, remaining)
        on_cycle = [(a, b) for a, b in pairwise(cycle) if (a, b) in new]
        # The stored graph has no cycle, so a new edge is on this one; the guard is for a damaged graph.
        closing = max(on_cycle, key=lambda e: new[e]) if on_cycle else (cycle[0], cycle[1])
        # Name it from the closing edge's upstream, round to itself.
        start = cycle.index(closing[0])
        turn = [*cycle[start:-1], *cycle[:start], closing[0]]
        unknown = [pk for pk in turn if pk not in names]
        names.update(Asset.objects.filter(pk__in=unknown).values_list("pk", "name"))
        label = " → ".join(names.get(pk, str(pk)) for pk in turn)
        errors[new.get(closing, 0)] = ValidationError({"upstream": f"This would make a cycle: {label}."})
    if errors:
        return 0, errors
    rows = []
    now = timezone.now()
    by_index = {index: key for key, index in new.items()}
    for index in sorted(by_index):
        upstream, downstream, note = edges[index]
        rows.append(Dependency(upstream=upstream, downstream=downstream, note=note[:200], created_at=now))
    with transaction.atomic():
        Dependency.objects.bulk_create(rows, batch_size=BATCH)
        audit_append_many(
            events=[
                EventSpec(
                    action="dependency.added",
                    actor=by,
                    system_actor=system_actor,
                    obj=row.downstream,
                    payload={"upstream": row.upstream.name, "downstream": row.downstream.name, "note": row.note},
                )
                for row in rows
            ]
        )
    return len(rows), {}
