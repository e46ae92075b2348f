"""One scheduled restore test of one asset: the point it chose, the run that restored it, the outcome."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.runs.models import RecoveryRun
from inventory.models import Asset, RecoveryPoint


class RestoreTestState(models.TextChoices):
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    PREEMPTED = "preempted", "Pre-empted by a recovery"
    SKIPPED = "skipped", "Skipped"
    REFUSED = "refused", "Refused"


TEST_ACTIVE = [RestoreTestState.RUNNING]
# Outcomes that count as "tested" for the cadence; a pre-empted or skipped test is tried again soon.
TEST_COUNTED = [RestoreTestState.PASSED, RestoreTestState.FAILED, RestoreTestState.REFUSED]


class RestoreTest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="restore_tests")
    state = models.CharField(max_length=16, choices=RestoreTestState.choices, default=RestoreTestState.RUNNING)
    run = models.OneToOneField(
        RecoveryRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="restore_test"
    )
    point = models.ForeignKey(RecoveryPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    point_choice = models.CharField(max_length=16, help_text="newest, or random within the window")
    rto_seconds = models.PositiveIntegerField(null=True, blank=True)
    rpo_seconds = models.PositiveIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=RestoreTestState.values), name="restore_test_state_known"),
            # One test at a time per asset: two would restore the same data twice for nothing.
            models.UniqueConstraint(
                fields=["asset"], condition=Q(state="running"), name="restore_test_one_running_per_asset"
            ),
        ]

    def __str__(self) -> str:
        return f"restore test of {self.asset_id}: {self.state}"
