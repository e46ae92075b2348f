"""What the blast radius suggests adding to an incident: the nearest assets below its own, and how many there are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from incidents.models import Incident, IncidentAsset
from inventory.blast import downstream_nearest
from inventory.models import Asset


@dataclass(frozen=True)
class Suggestions:
    """The nearest assets the blast radius adds and how many it adds (counted up to `SUGGESTIONS_COUNTED`)."""

    assets: list[Asset]
    total: int
    complete: bool = True  # False: more than `total` lie below; the count stopped there

    @property
    def more(self) -> int:
        return self.total - len(self.assets)


SUGGESTIONS_SHOWN = 25
# An incident on a root asset has the whole estate below it: the page counts this far, never the whole graph.
SUGGESTIONS_COUNTED = 500


def suggested_assets(
    *, incident: Incident, linked: Iterable[IncidentAsset], limit: int = SUGGESTIONS_SHOWN
) -> Suggestions:
    """What the dependency graph says is also hit: downstream of the affected assets, not yet listed, nearest
    first (direct dependents, then theirs), by name within a level. Two queries, bounded by the count's cap."""
    found = downstream_nearest({link.asset_id for link in linked}, cap=SUGGESTIONS_COUNTED)
    shown = found.ids[:limit]
    by_id = Asset.objects.in_bulk(shown)
    return Suggestions(assets=[by_id[pk] for pk in shown if pk in by_id], total=len(found.ids), complete=found.complete)
