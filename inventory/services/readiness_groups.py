"""Keep the readiness roll-ups (inventory.models.ReadinessGroup): assets per tier, team, level and score.

`readiness_groups_apply` runs inside the transaction that rewrites ReadinessState rows
(`inventory.services.readiness.readiness_refresh`, which both the sweep and every single-asset refresh
go through), so a roll-up and the states it counts commit together or not at all.

Concurrent writers: each change is an `UPDATE ... SET count = count + n` (F() increments), not a
recount. PostgreSQL locks the group row for the rest of the transaction and a second writer's UPDATE
waits, then adds its own delta to the committed value, so two refreshes of different assets in one
group cannot lose either change. A recount under a lock would have to read the whole group (thousands
of states) on every change: the cost these rows exist to avoid. Rows are changed in key order, after
the state rows (locked in asset order), so two writers cannot wait on each other in a cycle.

`readiness_groups_rebuild` recounts them from the states in one aggregate query (the data migration
that made the table; the scale bench after its bulk fill). It assumes no refresh runs meanwhile.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery

log = logging.getLogger(__name__)

# (tier, team, level, score)
GroupKey = tuple[int, str, int, int]


class GroupDeltas:
    """What a batch of state rewrites does to the roll-ups: +1 under each new key, -1 under each old one."""

    def __init__(self) -> None:
        self.by_key: dict[GroupKey, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, key: GroupKey | None, *, no_point: bool, sign: int) -> None:
        if key is None:  # a state never assessed is not counted
            return
        delta = self.by_key[key]
        delta[0] += sign
        delta[1] += sign if no_point else 0


def group_key(*, tier: int | None, team: str, level: int | None, score: int) -> GroupKey | None:
    if level is None or tier is None:
        return None
    return (tier, team, level, score)


def readiness_groups_apply(deltas: GroupDeltas) -> None:
    """Add the deltas to the roll-up rows (call inside the transaction that rewrote the states)."""
    from inventory.models import ReadinessGroup

    for key in sorted(deltas.by_key):
        n, bare = deltas.by_key[key]
        if n == 0 and bare == 0:
            continue
        fields = dict(zip(("tier", "team", "level", "score"), key, strict=True))
        change = {"count": F("count") + n, "no_point": F("no_point") + bare}
        if ReadinessGroup.objects.filter(**fields).update(**change):
            continue
        if n < 0:  # only possible if the rows were edited by hand: a rebuild puts them right
            log.warning("readiness roll-up %s missing while an asset leaves it", key)
            continue
        try:
            with transaction.atomic():  # a savepoint: another writer may make the same row first
                ReadinessGroup.objects.create(**fields, count=n, no_point=bare)
        except IntegrityError:
            ReadinessGroup.objects.filter(**fields).update(**change)


def readiness_groups_rebuild(state_model: Any = None, group_model: Any = None, asset_model: Any = None) -> int:
    """Set every state's counted tier and team from its asset and recount the roll-ups; returns the rows.

    Takes the models so the data migration can pass its historical ones.
    """
    if state_model is None or group_model is None or asset_model is None:
        from inventory.models import Asset, ReadinessGroup, ReadinessState

        state_model, group_model, asset_model = ReadinessState, ReadinessGroup, Asset
    own = asset_model.objects.filter(pk=OuterRef("asset_id"))
    with transaction.atomic():
        state_model.objects.update(
            counted_tier=Subquery(own.values("tier")[:1]), counted_team=Subquery(own.values("owner_team")[:1])
        )
        rows = (
            state_model.objects.filter(level__isnull=False)
            .order_by()
            .values("counted_tier", "counted_team", "level", "score")
            .annotate(n=Count("pk"), bare=Count("pk", filter=Q(ok_data_as_of__isnull=True)))
        )
        made = [
            group_model(
                tier=r["counted_tier"],
                team=r["counted_team"],
                level=r["level"],
                score=r["score"],
                count=r["n"],
                no_point=r["bare"],
            )
            for r in rows
        ]
        group_model.objects.all().delete()
        group_model.objects.bulk_create(made, batch_size=2000)
    return len(made)
