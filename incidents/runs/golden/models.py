"""A golden set: inputs, the outputs production gave for them, a tolerance, and where the model file is.

Golden sets are versions, never edited: saving one adds a row. A restore is
checked against the newest version saved before its recovery point was taken
(the one that matched the model then), else the newest there is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from inventory.models import Asset


class GoldenSet(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="golden_sets")
    model_format = models.CharField(
        max_length=32, help_text="A format with a registered loader (onnx, npy, safetensors)."
    )
    model_path = models.CharField(max_length=300, help_text="The model file, relative to the asset's restored root.")
    inputs = models.JSONField(help_text="A list of input rows (lists of numbers).")
    expected = models.JSONField(help_text="The output production gave for each input row.")
    tolerance = models.FloatField(help_text="Largest absolute difference still counted equal.")
    sha256 = models.CharField(max_length=64, help_text="Digest of the canonical golden set.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        app_label = "runs"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"golden set {self.pk} of {self.asset_id}"
