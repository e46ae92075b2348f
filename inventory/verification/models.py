"""Restore evidence (tests, drills, recoveries, each measured) and the daily readiness score of each asset."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from inventory.models import Asset


class EvidenceKind(models.TextChoices):
    RESTORE_TEST = "restore_test", "Scheduled restore test"
    DRILL = "drill", "Drill"
    RECOVERY = "recovery", "Recovery"


class RestoreEvidence(models.Model):
    """One measured restore of an asset: when, whether it passed, how long it took, how much it lost."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="restore_evidence")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    passed = models.BooleanField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    rto_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Start to service verified.")
    rpo_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Start to the point's data time.")
    rto_target_seconds = models.PositiveIntegerField(null=True, blank=True)
    bytes_restored = models.PositiveBigIntegerField(default=0)
    # The parts of the RTO, so the forecast models each on its own (inventory.verification.forecast).
    vault = models.ForeignKey(
        "inventory.Vault", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The vault the restore read from.",
    )  # fmt: skip
    throughput_bps = models.FloatField(
        null=True, blank=True, help_text="Bytes per second the restore moved (none when too little to time)."
    )
    approval_wait_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time the run waited for approvals (none: no step asked for one)."
    )
    run_id = models.UUIDField(null=True, blank=True, help_text="The recovery run that measured it.")
    point_id = models.UUIDField(null=True, blank=True, help_text="The recovery point restored.")
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["asset", "-finished_at"], name="evidence_asset_newest")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EvidenceKind.values), name="evidence_kind_known"),
            models.UniqueConstraint(fields=["run_id", "asset"], name="evidence_once_per_run_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.asset_id} {'passed' if self.passed else 'failed'}"


class ReadinessSample(models.Model):
    """The asset's readiness score on one UTC day (the last assessment of that day), and the tier it is
    counted under in that day's ReadinessScoreDay."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="readiness_samples")
    day = models.DateField()
    score = models.PositiveSmallIntegerField()
    tier = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["asset", "day"], name="readiness_sample_once_a_day")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.day}: {self.score}"


class PointChoice(models.TextChoices):
    NEWEST = "newest", "Newest good point"
    RANDOM = "random", "A random good point within the window"


class RestoreTestPolicy(models.Model):
    """How a recovery policy's assets are restore-tested; without one, tier defaults and settings apply."""

    policy = models.OneToOneField(
        "inventory.RecoveryPolicy", on_delete=models.CASCADE, related_name="restore_test_policy"
    )
    cadence_days = models.PositiveSmallIntegerField(help_text="A restore test is due this often.")
    point_choice = models.CharField(max_length=16, choices=PointChoice.choices, default=PointChoice.RANDOM)
    window_days = models.PositiveSmallIntegerField(default=7, help_text="A random point is drawn from these days.")
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(point_choice__in=PointChoice.values), name="restore_test_choice_known"),
            models.CheckConstraint(condition=Q(cadence_days__gte=1), name="restore_test_cadence_positive"),
        ]

    def __str__(self) -> str:
        return f"restore tests every {self.cadence_days} d"


class ReadinessScoreDay(models.Model):
    """One day's readiness samples of one tier: how many and the sum of their scores.

    What the score trend reads (the daily average over all assets or a tier) instead of every sample: a
    few rows per day, however many assets. `inventory.verification.samples.readiness_samples_record` moves
    an asset's sample in and out of its row with F() increments in the transaction that stores the new
    assessment; the migration that made the table filled it from the samples. Rows are not changed when
    an asset is deleted, so a past day's average stays what it was that day.
    """

    day = models.DateField()
    tier = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0, help_text="The sum of the day's scores of the tier.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "tier"], name="readiness_score_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} tier {self.tier}: {self.count} samples"
