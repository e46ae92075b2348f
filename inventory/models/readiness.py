"""Readiness as stored state: one row per asset, reassessed when a fact changes or its time comes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from inventory.models.catalog import Asset


class ReadinessState(models.Model):
    """An asset's readiness as last assessed: what pages, the API and /metrics read.

    `inventory.services.readiness` rewrites the row when a fact of the asset
    changes and when `next_change_at` passes (a backup ageing past its RPO,
    a drill falling due). `version` goes up with every fact change, so an
    assessment that read older facts cannot overwrite a newer one.
    """

    asset = models.OneToOneField(Asset, primary_key=True, on_delete=models.CASCADE, related_name="readiness_state")
    level = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 ok, 1 at risk, 2 breach; null: new")
    score = models.PositiveSmallIntegerField(default=0, help_text="Percent of its checks the asset passes.")
    checks = models.JSONField(default=list, blank=True, help_text="[{name, level, reason}] as assessed.")
    facts = models.JSONField(default=dict, blank=True, help_text="The facts the checks were computed from.")
    ok_data_as_of = models.DateTimeField(null=True, blank=True, help_text="Data time of the newest good point.")
    rpo_seconds = models.PositiveIntegerField(null=True, blank=True)
    rpo_breach_at = models.DateTimeField(null=True, blank=True, help_text="When the newest good point passes the RPO.")
    assessed_at = models.DateTimeField(null=True, blank=True)
    next_change_at = models.DateTimeField(
        null=True, blank=True, help_text="When time alone next changes a check (null: never); due rows are swept."
    )
    version = models.PositiveBigIntegerField(default=0)
    # The tier and team the row is counted under in ReadinessGroup (the asset's, as of its last assessment).
    counted_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    counted_team = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["next_change_at"], name="readiness_next_change"),
            models.Index(fields=["-level", "asset"], name="readiness_worst_first"),
            models.Index(fields=["rpo_breach_at"], name="readiness_rpo_breach"),
            models.Index(fields=["ok_data_as_of"], name="readiness_newest_data"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(level__isnull=True) | Q(level__lte=2), name="readiness_level_known"),
        ]

    def __str__(self) -> str:
        return f"readiness of {self.asset_id}: {self.level}"
