"""Daily roll-ups of finished backups: what the dashboard's backup chart and /metrics read instead of the history."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

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


class ReadinessGroup(models.Model):
    """Assets of one tier and team at one stored readiness level and score: how many, and how many of those
    have no good recovery point yet.

    What the readiness page, the dashboard and /metrics read instead of grouping every ReadinessState: the
    counts per status, the average score (the sum of count * score over the count) and the lowest score (the
    lowest score whose count is above zero) per tier or team. `inventory.services.readiness_groups` moves an
    asset between rows in the transaction that rewrites its ReadinessState, with F() increments; the state
    row keeps the tier and team it is counted under (`counted_tier`, `counted_team`), so an asset moved to
    another team leaves its old row when it is next assessed. A row left at zero stays (there are at most
    tiers * teams * 3 levels * 101 scores of them).
    """

    tier = models.PositiveSmallIntegerField()
    team = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)
    no_point = models.PositiveIntegerField(default=0, help_text="Of `count`, assets with no good point yet.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tier", "team", "level", "score"], name="readiness_group_unique"),
            models.CheckConstraint(condition=Q(no_point__lte=F("count")), name="readiness_group_no_point"),
        ]

    def __str__(self) -> str:
        return f"tier {self.tier} {self.team} level {self.level} score {self.score}: {self.count}"
