"""Keep the daily backup roll-ups (inventory.models.BackupDay): one row per day, team, tier, outcome and bucket.

`backup_day_add` runs inside the transaction that finishes a backup, so the
roll-up and the backup commit together or not at all. `backup_days_rebuild`
recounts them from the history in one pass (the data migration
that made the table, and the scale bench after it bulk-loads history).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from inventory.models.rollups import BACKUP_DAY_BUCKETS, UNTIMED

FINISHED = ("succeeded", "failed")


def backup_bucket(seconds: float | None) -> int:
    """The index of the first bound the duration is at most; len(bounds) past the last; UNTIMED without one."""
    if seconds is None:
        return UNTIMED
    return bisect.bisect_left(BACKUP_DAY_BUCKETS, seconds)


def backup_day(created_at: datetime) -> date:
    return created_at.astimezone(UTC).date()


def backup_day_add(*, backup: Any) -> None:
    """Count a backup that has just finished (call in the transaction that finishes it; asset loaded)."""
    from inventory.models import BackupDay

    seconds = (backup.finished_at - backup.started_at).total_seconds() if backup.started_at else None
    key = {
        "day": backup_day(backup.created_at),
        "team": backup.asset.owner_team,
        "tier": backup.asset.tier,
        "status": backup.status,
        "bucket": backup_bucket(seconds),
    }
    change = {
        "count": F("count") + 1,
        "bytes": F("bytes") + backup.bytes_done,
        "seconds": F("seconds") + (seconds or 0),
    }
    if BackupDay.objects.filter(**key).update(**change):
        return
    try:
        with transaction.atomic():  # a savepoint: another finishing backup may make the same row first
            BackupDay.objects.create(**key, count=1, bytes=backup.bytes_done, seconds=seconds or 0)
    except IntegrityError:
        BackupDay.objects.filter(**key).update(**change)


def backup_days_rebuild(backup_model: Any = None, day_model: Any = None) -> int:
    """Recount every roll-up from the finished backups (replacing what was there); returns the rows written.

    Takes the models so the data migration can pass its historical ones. One
    pass over the history in chunks, bucketed by `backup_bucket` itself, so
    a rebuilt row and one kept up by `backup_day_add` cannot disagree.
    """
    if backup_model is None or day_model is None:
        from inventory.models import Backup, BackupDay

        backup_model, day_model = Backup, BackupDay
    totals: dict[tuple[date, str, int, str, int], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    rows = (
        backup_model.objects.filter(status__in=FINISHED)
        .order_by()
        .values_list(
            "created_at", "started_at", "finished_at", "asset__owner_team", "asset__tier", "status", "bytes_done"
        )
    )
    for created, started, finished, team, tier, status, done in rows.iterator(chunk_size=5000):
        seconds = (finished - started).total_seconds() if started and finished else None
        total = totals[(backup_day(created), team, tier, status, backup_bucket(seconds))]
        total[0] += 1
        total[1] += done or 0
        total[2] += seconds or 0
    made = [
        day_model(day=day, team=team, tier=tier, status=status, bucket=bucket, count=n, bytes=b, seconds=s)
        for (day, team, tier, status, bucket), (n, b, s) in sorted(totals.items())
    ]
    with transaction.atomic():
        day_model.objects.all().delete()
        day_model.objects.bulk_create(made, batch_size=2000)
    return len(made)
