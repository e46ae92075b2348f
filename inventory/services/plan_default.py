"""A default plan for a set of assets: restore and verify upstream first, then fail over what can."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from inventory.models import Asset, Dependency


def _dependency_layers(assets: Sequence[Asset]) -> list[list[Asset]]:
    ids = {a.pk for a in assets}
    ups: dict[int, set[int]] = {a.pk: set() for a in assets}
    for up, down in Dependency.objects.filter(upstream__in=ids, downstream__in=ids).values_list(
        "upstream_id", "downstream_id"
    ):
        ups[down].add(up)
    by_id = {a.pk: a for a in assets}
    layers: list[list[Asset]] = []
    remaining = set(ids)
    while remaining:
        ready = sorted((pk for pk in remaining if not ups[pk] & remaining), key=lambda pk: by_id[pk].name)
        ready = ready or sorted(remaining, key=lambda pk: by_id[pk].name)  # never loop on a cycle
        layers.append([by_id[pk] for pk in ready])
        remaining -= set(ready)
    return layers


def plan_default_data(*, assets: Iterable[Asset], name: str = "") -> dict[str, Any]:
    """A plan that restores and verifies `assets` upstream first, then fails over what can.

    Each asset is restored once everything it depends on (within the set) has
    been verified; restores of independent assets share a group.
    """
    chosen = sorted(set(assets), key=lambda a: a.name)
    if not chosen:
        raise ValidationError({"assets": ["Choose at least one asset."]})
    ups: dict[int, list[str]] = {a.pk: [] for a in chosen}
    for dep in Dependency.objects.filter(upstream__in=chosen, downstream__in=chosen).select_related("upstream"):
        ups[dep.downstream_id].append(dep.upstream.name)
    steps: list[dict[str, Any]] = []
    for layer in _dependency_layers(chosen):
        for asset in layer:
            after = [f"verify-{up}" for up in sorted(ups[asset.pk])]
            steps.append({"key": f"restore-{asset.name}", "kind": "restore", "asset": asset.name, "after": after})
            steps.append(
                {
                    "key": f"verify-{asset.name}",
                    "kind": "verify",
                    "asset": asset.name,
                    "after": [f"restore-{asset.name}"],
                }
            )
    verified = [f"verify-{a.name}" for a in chosen]
    for asset in chosen:
        if asset.alternate_region:
            steps.append(
                {
                    "key": f"failover-{asset.name}",
                    "kind": "failover",
                    "asset": asset.name,
                    "title": f"Serve {asset.name} from {asset.alternate_region}",
                    "after": verified,
                }
            )
    steps.append(
        {
            "key": "tell-commander",
            "kind": "notify",
            "after": [s["key"] for s in steps if s["kind"] == "failover"] or verified,
            "message": "Recovery steps are done; confirm service with the owners.",
            "critical": False,
        }
    )
    label = name or f"Restore {', '.join(a.name for a in chosen[:3])}{' …' if len(chosen) > 3 else ''}"
    return {
        "name": label[:100],
        "description": "Generated from the dependency order.",
        "assets": [a.name for a in chosen],
        "steps": steps,
    }
