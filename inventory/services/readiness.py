"""Readiness as stored state: each asset's assessment kept in a ReadinessState row.

Three ways a row is rewritten, all through `readiness_refresh` (which moves the
tier and team roll-ups, inventory.models.ReadinessGroup, in the same transaction):

* a fact changes (a backup or point changes state, a drill or recovery is
  recorded, the asset, its policy or its vault is edited): the service that
  changed it calls `readiness_facts_changed` inside its transaction, which
  bumps the row's `version` and makes it due at once, and reassesses the
  assets once that transaction commits;
* time alone moves a check (a backup ageing past its RPO, a drill falling
  due): `next_change_at` says when, and the beat's sweep reassesses only
  rows whose moment has passed;
* a row is missing (an asset made by a bulk path): the sweep makes it.

The rules themselves stay in `inventory.readiness`; this module only stores
what they say. A refresh writes a row only if its version is still the one
it read before reading the facts, so an assessment that raced a fact change
can never overwrite the newer state: the row stays due and is assessed again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Asset, ReadinessState
from inventory.readiness import RISK_MARGIN, AssetReadiness, readiness_for
from inventory.services.pointers import points_newest_refresh
from inventory.services.readiness_groups import GroupDeltas, GroupKey, group_key, readiness_groups_apply
from inventory.verification.samples import readiness_samples_record
from inventory.verification.score import ScoreFacts, readiness_score
from inventory.verification.selectors import score_facts

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# More assets than this changed at once (a policy shared by thousands) are
# left due for the sweep rather than assessed in the committing request.
INLINE_LIMIT = 100
# Reasons quote ages ("2 h old"), so even a row no threshold will move is
# reassessed this often.
REFRESH_AT_LEAST = timedelta(hours=1)
# The level changes just after a threshold (a limit is breached once *passed*).
_AFTER = timedelta(seconds=1)


def _next_change(item: AssetReadiness, now: datetime) -> datetime:
    """The next moment time alone can change one of the asset's checks (or the refresh bound)."""
    asset: Any = item.asset
    moments = [now + REFRESH_AT_LEAST]
    policy = asset.policy
    if policy is not None:
        if asset.ok_data_as_of is not None:
            rpo = timedelta(minutes=policy.rpo_minutes)
            moments += [asset.ok_data_as_of + rpo * (1 - RISK_MARGIN), asset.ok_data_as_of + rpo]
        cadence = timedelta(days=policy.drill_cadence_days)
        start = asset.last_drill_at or asset.policy_assigned_at or asset.created_at
        moments += [start + cadence * (1 - RISK_MARGIN), start + cadence]
    return min(m + _AFTER for m in moments if m + _AFTER > now)


def _stored(item: AssetReadiness, now: datetime, facts: ScoreFacts | None = None) -> dict[str, Any]:
    asset: Any = item.asset
    checks = [{"name": c.name, "level": int(c.level), "reason": c.text} for c in item.checks]
    card = readiness_score(item, now=now, facts=facts)
    return {
        "level": int(item.level),
        "score": card.total,
        "checks": checks,
        "facts": {
            "ok_data_as_of": asset.ok_data_as_of.isoformat() if asset.ok_data_as_of else None,
            "last_backup_status": asset.last_backup_status,
            "last_backup_at": asset.last_backup_at.isoformat() if asset.last_backup_at else None,
            "last_drill_at": asset.last_drill_at.isoformat() if asset.last_drill_at else None,
            "policy": asset.policy.name if asset.policy else None,
            "vault": asset.vault.name if asset.vault else None,
            "backup_age_seconds": item.backup_age.total_seconds() if item.backup_age is not None else None,
            "score": [part.to_json() for part in card.parts],
        },
        "ok_data_as_of": asset.ok_data_as_of,
        "rpo_seconds": int(item.rpo.total_seconds()) if item.rpo is not None else None,
        "rpo_breach_at": asset.ok_data_as_of + item.rpo if item.rpo is not None else None,
        "assessed_at": now,
        "next_change_at": _next_change(item, now),
    }


def readiness_refresh(*, asset_ids: Collection[int], now: datetime | None = None) -> int:
    """Assess these assets and store the results; returns how many rows were written.

    A row whose version moved while its facts were read (a fact change
    committed meanwhile) is left as it is: still due, it is assessed again.
    """
    ids = sorted(set(asset_ids))
    if not ids:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        ReadinessState.objects.bulk_create(
            [ReadinessState(asset_id=pk, next_change_at=now) for pk in ids], ignore_conflicts=True
        )
    # Versions first, facts second: a fact change after this read bumps the version and the write below misses.
    versions = dict(ReadinessState.objects.filter(asset_id__in=ids).values_list("asset_id", "version"))
    facts = score_facts(asset_ids=ids)
    assessed: dict[int, dict[str, Any]] = {}
    for item in readiness_for(Asset.objects.with_facts().filter(pk__in=ids), now=now):
        asset: Any = item.asset
        assessed[asset.pk] = {
            **_stored(item, now, facts.get(asset.pk)),
            "counted_tier": asset.tier,
            "counted_team": asset.owner_team,
            "asset_name": asset.name,
            "has_policy": asset.policy_id is not None,
        }
    return _write(assessed, versions, now)


_COUNTED = ("version", "counted_tier", "counted_team", "level", "score", "ok_data_as_of")


def _counted_key(row: dict[str, Any]) -> GroupKey | None:
    return group_key(tier=row["counted_tier"], team=row["counted_team"], level=row["level"], score=row["score"])


@transaction.atomic
def _write(assessed: dict[int, dict[str, Any]], versions: dict[int, int], now: datetime) -> int:
    """Store the assessments whose version has not moved, and move the roll-ups and the day's score samples
    with them; one transaction.

    The rows are locked (in asset order) before they are read, so what leaves the roll-ups (and the day's
    score sums) is what the row held, even if another refresh of the same asset runs at the same time.
    Returns how many rows were written.
    """
    locked = ReadinessState.objects.select_for_update().filter(asset_id__in=sorted(assessed)).order_by("asset_id")
    old = {row["asset_id"]: row for row in locked.values("asset_id", *_COUNTED)}
    deltas = GroupDeltas()
    scores: dict[int, int] = {}
    for pk, stored in assessed.items():
        before = old.get(pk)
        if before is None or before["version"] != versions[pk]:
            continue  # a fact changed since the facts were read: the row stays due
        ReadinessState.objects.filter(asset_id=pk).update(**stored)
        deltas.add(_counted_key(before), no_point=before["ok_data_as_of"] is None, sign=-1)
        deltas.add(_counted_key(stored), no_point=stored["ok_data_as_of"] is None, sign=1)
        scores[pk] = stored["score"]
    readiness_groups_apply(deltas)
    tiers = {pk: assessed[pk]["counted_tier"] for pk in scores}
    readiness_samples_record(scores=scores, tiers=tiers, now=now)
    return len(scores)


def readiness_facts_changed(*, asset_ids: Collection[int]) -> None:
    """Call inside the transaction that changed a fact of these assets.

    The row is made due and its version bumped in that same transaction, so
    the change cannot be lost even if the process dies before it commits
    the new assessment; the assets are reassessed once it commits.
    """
    ids = sorted(set(asset_ids))
    if not ids:
        return
    now = timezone.now()
    if len(ids) <= INLINE_LIMIT:
        # Every change of a point passes here: keep the newest-point pointer in the same transaction.
        points_newest_refresh(asset_ids=ids)
    ReadinessState.objects.filter(asset_id__in=ids).update(version=F("version") + 1, next_change_at=now)
    if len(ids) <= INLINE_LIMIT:
        transaction.on_commit(lambda: _refresh_quietly(ids))
    else:
        from dr_portal.queue import send_on_commit
        from inventory.tasks import readiness_sweep_task

        send_on_commit(readiness_sweep_task, args=[])


def _refresh_quietly(ids: list[int]) -> None:
    # The fact is already committed and its row due: a failure here only
    # delays the new assessment until the next sweep.
    try:
        readiness_refresh(asset_ids=ids)
    except Exception:
        log.exception("readiness of assets %s not refreshed; the sweep will", ids[:10])


def readiness_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Assess every asset that has no row or whose `next_change_at` has passed; returns how many.

    Each batch commits on its own, so a sweep stopped halfway leaves the
    rest due and the next sweep carries on. Rows made due after `now` (a
    fact changed during the sweep) are for their own refresh or the next
    sweep, which also keeps this loop finite.
    """
    now = now or timezone.now()
    missing = Asset.objects.filter(readiness_state__isnull=True).values_list("pk", flat=True)
    ReadinessState.objects.bulk_create(
        [ReadinessState(asset_id=pk, next_change_at=now) for pk in missing.iterator(chunk_size=2000)],
        batch_size=2000,
        ignore_conflicts=True,
    )
    done = 0
    after: tuple[datetime | None, int] | None = None
    while True:
        due = ReadinessState.objects.filter(next_change_at__lte=now)
        if after is not None:  # keyset: a row this sweep could not write is not tried again and again
            due = due.filter(next_change_at__gte=after[0]).exclude(next_change_at=after[0], asset_id__lte=after[1])
        rows = list(due.order_by("next_change_at", "asset_id").values_list("next_change_at", "asset_id")[:batch])
        if not rows:
            return done
        readiness_refresh(asset_ids=[pk for _, pk in rows], now=now)
        done += len(rows)
        after = rows[-1]
