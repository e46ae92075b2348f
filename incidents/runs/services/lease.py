"""A running step's lease, per its asset's tier: how long it may stay silent before it is taken over.

RUN_STEP_LEASE_SECONDS_BY_TIER names the tiers that differ from RUN_STEP_LEASE_SECONDS; a step
without an asset (manual, wait) uses the plain setting. `lapsed()` is one filter whatever the
number of steps: one clause per configured tier plus one for the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q


def lease_seconds(tier: int | None) -> int:
    """The lease of a step on an asset of this tier (None: no asset)."""
    if tier is None:
        return int(settings.RUN_STEP_LEASE_SECONDS)
    return int(settings.RUN_STEP_LEASE_SECONDS_BY_TIER.get(tier, settings.RUN_STEP_LEASE_SECONDS))


def longest_lease() -> timedelta:
    """The longest lease of any tier: a step heard from within it may still have a live worker."""
    return timedelta(seconds=max([settings.RUN_STEP_LEASE_SECONDS, *settings.RUN_STEP_LEASE_SECONDS_BY_TIER.values()]))


def lapsed(now: datetime, *, field: str = "heartbeat_at", tiers: list[int] | None = None) -> Q:
    """Steps whose `field` is older than their tier's lease; only these tiers' steps when given."""
    by_tier: dict[int, int] = settings.RUN_STEP_LEASE_SECONDS_BY_TIER
    default = timedelta(seconds=settings.RUN_STEP_LEASE_SECONDS)
    if tiers is not None:
        clauses = [
            Q(asset__tier=tier, **{f"{field}__lt": now - timedelta(seconds=lease_seconds(tier))}) for tier in tiers
        ]
        if not clauses:
            return Q(pk__in=[])
        query = clauses[0]
        for clause in clauses[1:]:
            query |= clause
        return query
    rest = Q(**{f"{field}__lt": now - default})
    if by_tier:
        rest &= Q(asset__isnull=True) | ~Q(asset__tier__in=sorted(by_tier))
    for tier, seconds in sorted(by_tier.items()):
        rest |= Q(asset__tier=tier, **{f"{field}__lt": now - timedelta(seconds=seconds)})
    return rest
