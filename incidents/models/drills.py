"""Drill schedules: which assets beat opens drills for."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class DrillSchedule(models.Model):
    """Drills of one asset, opened by beat whenever the policy's drill cadence says one is due."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.OneToOneField("inventory.Asset", on_delete=models.CASCADE, related_name="drill_schedule")
    enabled = models.BooleanField(default=True)
    scenario = models.CharField(max_length=300, default="Restore from the newest good backup into an isolated target.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asset__name"]

    def __str__(self) -> str:
        return f"drills of {self.asset_id}"
