"""A running step's lease, per its asset's tier: how long it may stay silent before it is taken over.

RUN_STEP_LEASE_SECONDS_BY_TIER names the tiers that differ from RUN_STEP_LEASE_SECONDS; a step
without an asset (manual, wait) uses the plain setting. `lapsed()` is one filter whatever the
number of steps: one clause per configured tier plus one for the rest. The writes that renew a
lease are here too: a heartbeat, and the renewal a worker's side thread makes while a connector
works (`step_lease_renew`, see dr_portal/keepalive.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from incidents.runs.models import StepRun, StepState


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


def step_overdue(step: StepRun, *, now: Any = None) -> bool:
    now = now or timezone.now()
    return step.started_at is not None and now - step.started_at > timedelta(seconds=step.timeout_seconds)


def step_heartbeat(*, step: StepRun) -> bool:
    return (
        StepRun.objects.filter(pk=step.pk, state=StepState.RUNNING, attempt=step.attempt).update(
            heartbeat_at=timezone.now()
        )
        == 1
    )


def step_lease_renew(*, step: StepRun) -> bool:
    """Keep this attempt's lease while its worker still touches the target (kept_alive's renewal).

    Conditional on the attempt and the worker, not the state: a cancelled step's worker still
    holds its target until it lets go (step_release), and clean-up waits for that. False once
    the step is out of time, so a worker stuck past the step's timeout loses it as a dead one would.
    """
    if step_overdue(step):
        return False
    return (
        StepRun.objects.filter(pk=step.pk, attempt=step.attempt, worker=step.worker)
        .exclude(worker="")
        .update(heartbeat_at=timezone.now())
        == 1
    )
