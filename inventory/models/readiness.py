"""Readiness as stored state: one row per asset, reassessed when a fact changes or its time comes."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

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
    # The asset's name and whether it had a policy, as of its last assessment: with `counted_tier`, what the
    # readiness lists sort and filter on, so an index on this row alone serves them (no sort of every asset).
    asset_name = models.CharField(max_length=100, blank=True, default="")
    has_policy = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["next_change_at"], name="readiness_next_change"),
            models.Index(fields=["-level", "asset"], name="readiness_worst_first"),
            models.Index(fields=["rpo_breach_at"], name="readiness_rpo_breach"),
            # "Nearest to its RPO" (assets with a policy): those without a good point first, by name; then the
            # rest by when they pass the RPO, then name. Two indexes, as SQLite cannot index NULLS FIRST.
            models.Index(
                fields=["asset_name"],
                name="readiness_nearest_no_point",
                condition=Q(has_policy=True, level__isnull=False, rpo_breach_at__isnull=True),
            ),
            models.Index(
                fields=["rpo_breach_at", "asset_name"],
                name="readiness_nearest_rpo",
                condition=Q(has_policy=True, level__isnull=False, rpo_breach_at__isnull=False),
            ),
            # "Worst first": breach before at risk, then tier, then name.
            models.Index(
                F("level").desc(),
                "counted_tier",
                "asset_name",
                name="readiness_worst_by_tier",
                condition=Q(level__gt=0),
            ),
            models.Index(fields=["ok_data_as_of"], name="readiness_newest_data"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(level__isnull=True) | Q(level__lte=2), name="readiness_level_known"),
        ]

    def __str__(self) -> str:
        return f"readiness of {self.asset_id}: {self.level}"
