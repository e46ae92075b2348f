"""Expiry: a point past its policy's retention (and its immutable-until) leaves its vault."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from inventory import vault_io
from inventory.models import PointStatus, RecoveryPoint, RecoveryPolicy
from inventory.services.readiness import readiness_facts_changed

log = logging.getLogger(__name__)


@transaction.atomic
def point_expire(*, point: RecoveryPoint, by: User | None = None, now: datetime | None = None) -> RecoveryPoint:
    """Remove a point's data from its vault and mark it expired; refuses while it is immutable."""
    now = now or timezone.now()
    locked = (
        RecoveryPoint.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset", "vault")
        .get(pk=point.pk)
    )
    if locked.status == PointStatus.EXPIRED:
        return locked
    if locked.immutable_until is not None and locked.immutable_until > now:
        raise vault_io.VaultIOFailure(
            "object_locked", f"Point {locked.public_id} is immutable until {locked.immutable_until:%Y-%m-%d %H:%M} UTC."
        )
    previous = locked.status
    vault_io.delete_point(vault=locked.vault, asset_id=locked.asset.public_id, point_id=locked.public_id, now=now)
    locked.status = PointStatus.EXPIRED
    locked.expired_at = now
    locked.save(update_fields=["status", "expired_at"])
    readiness_facts_changed(asset_ids=[locked.asset_id])
    audit_append(
        action="point.expired",
        actor=by,
        system_actor="system:retention",
        obj=locked.asset,
        payload={"point": str(locked.public_id), "was": previous, "data_as_of": locked.data_as_of.isoformat()},
    )
    return locked


def points_expire_due(*, now: datetime | None = None) -> list[RecoveryPoint]:
    """Expire points past their policy's retention and past immutable-until.

    Candidates come from the partial index of unexpired points by age, so a
    run reads only points older than a retention, not the whole history.
    The newest good point of an asset is always kept, however old: expiring
    it would leave nothing to restore (checked on the index rather than the
    pointer, since a stale pointer must never cost the last good copy).
    """
    now = now or timezone.now()
    expired: list[RecoveryPoint] = []
    for policy in RecoveryPolicy.objects.all():
        cutoff = now - timedelta(days=policy.retention_days)
        candidates = (
            RecoveryPoint.objects.not_expired()
            .mutable_at(now)
            .filter(asset__policy=policy, created_at__lt=cutoff)
            .select_related("asset", "vault")
        )
        for point in candidates:
            newest = RecoveryPoint.objects.good().filter(asset_id=point.asset_id).order_by("-data_as_of")
            if newest.values_list("pk", flat=True).first() == point.pk:
                continue
            try:
                expired.append(point_expire(point=point, now=now))
            except vault_io.VaultIOFailure as exc:
                log.warning("could not expire point %s: %s", point.public_id, exc)
    return expired
