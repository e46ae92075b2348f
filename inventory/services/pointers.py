"""Per-asset pointers that keep pages and periodic tasks off the history tables.

`Asset.newest_point` is the asset's newest good recovery point and
`Asset.next_backup_at` when the scheduler next queues a backup. Both are
derived: `points_newest_refresh` recomputes the pointer from the
`(asset, status, -data_as_of)` index (one statement for any number of
assets), and a null `next_backup_at` means "work it out from the latest
backup", which the scheduler does for exactly those assets.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.db.models import OuterRef, Subquery

from inventory.models import Asset, PointStatus, RecoveryPoint, RecoveryPolicy


def points_newest_refresh(*, asset_ids: Collection[int] | None = None) -> int:
    """Point each asset at its newest good point (or none); all assets when `asset_ids` is None."""
    newest = RecoveryPoint.objects.filter(asset=OuterRef("pk"), status=PointStatus.OK).order_by("-data_as_of")
    assets = Asset.objects.all() if asset_ids is None else Asset.objects.filter(pk__in=sorted(set(asset_ids)))
    return assets.update(newest_point=Subquery(newest.values("pk")[:1]))


def backups_next_forget(*, asset_ids: Collection[int] | None = None, policy: RecoveryPolicy | None = None) -> int:
    """Make the scheduler work out these assets' next backup again (a policy, cadence or vault changed)."""
    assets = Asset.objects.all()
    if asset_ids is not None:
        assets = assets.filter(pk__in=sorted(set(asset_ids)))
    if policy is not None:
        assets = assets.filter(policy=policy)
    return assets.update(next_backup_at=None)


def backup_next_at(*, last_backup_at: datetime | None, cadence_minutes: int, now: datetime) -> datetime:
    """When an asset whose latest backup was requested at `last_backup_at` is next due (now if never)."""
    if last_backup_at is None:
        return now
    return last_backup_at + timedelta(minutes=cadence_minutes)
