"""Per-endpoint traffic driver configuration (secrets only by reference: an env name or a file path)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from inventory.models import Asset


class DriverKind(models.TextChoices):
    RECORD_ONLY = "record_only", "Record only (recorded, nothing switched)"
    HAPROXY = "haproxy", "HAProxy runtime API"
    WEBHOOK = "webhook", "Signed webhook"


class EndpointRoute(models.Model):
    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="traffic")
    driver = models.CharField(max_length=16, choices=DriverKind.choices, default=DriverKind.RECORD_ONLY)
    config = models.JSONField(default=dict, blank=True, help_text="Validated per driver; never a secret value.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "runs"
        constraints = [models.CheckConstraint(condition=Q(driver__in=DriverKind.values), name="route_driver_known")]

    def __str__(self) -> str:
        return f"{self.asset_id} via {self.driver}"
