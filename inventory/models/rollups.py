"""Daily roll-ups of finished backups: what the dashboard's backup chart and /metrics read instead of the history."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# Upper bounds (seconds) of the duration buckets, the same as /metrics' histograms (dr_portal.ops.metrics).
BACKUP_DAY_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200)
UNTIMED = -1  # a backup that failed before it started: counted, but it has no duration


class BackupDay(models.Model):
    """Finished backups of one day (UTC, the day the backup was requested), owner team, tier, outcome and
    duration bucket: a count, the bytes and the seconds they took.

    `inventory.services.rollups.backup_day_add` adds a backup in the transaction that finishes it; the
    migration that made this table filled it from the history. Rows are never removed with the backups
    they count, so the figures are totals since the start, not of the rows kept. `bucket` is the index of
    the first bound in BACKUP_DAY_BUCKETS the duration is at most, len(BACKUP_DAY_BUCKETS) past the last
    bound, UNTIMED without a start.
    """

    day = models.DateField()
    team = models.CharField(max_length=100)
    tier = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16)
    bucket = models.SmallIntegerField()
    count = models.PositiveIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "team", "tier", "status", "bucket"], name="backup_day_unique"),
            models.CheckConstraint(
                condition=Q(bucket__gte=UNTIMED) & Q(bucket__lte=len(BACKUP_DAY_BUCKETS)), name="backup_day_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team} tier {self.tier} {self.status} bucket {self.bucket}: {self.count}"
