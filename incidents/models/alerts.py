"""Alerts: those attached to incidents, the inbox of incoming ones, and label-to-asset mappings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.incident import Incident


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertRecord(models.Model):
    """One alert (by fingerprint) attached to an incident; repeats update it, never duplicate it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    source = models.CharField(max_length=16)
    fingerprint = models.CharField(max_length=200)
    group_key = models.CharField(max_length=500, blank=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=AlertStatus.choices)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.CharField(max_length=2000, blank=True, help_text="The graph of the rule that fired.")
    external_url = models.CharField(max_length=2000, blank=True, help_text="The Alertmanager that sent it.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    times_seen = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "fingerprint"], name="alert_once_per_incident")]
        indexes = [models.Index(fields=["fingerprint"])]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} ({self.status})"

    @property
    def links(self) -> list[tuple[str, str]]:
        """(label, url) for every http(s) link the sender gave: runbook and other annotations, rule, Alertmanager."""
        found = [
            (key.removesuffix("_url").replace("_", " ").capitalize(), value)
            for key, value in sorted(self.annotations.items())
            if isinstance(value, str) and value.startswith(("https://", "http://"))
        ]
        if self.generator_url:
            found.append(("Source rule", self.generator_url))
        if self.external_url:
            found.append(("Alertmanager", self.external_url))
        return found


class InboxState(models.TextChoices):
    OPEN = "open", "Waiting for a commander"
    ATTACHED = "attached", "Attached to an incident"
    MAPPED = "mapped", "Labels mapped to an asset"


class InboxAlert(models.Model):
    """An alert that named no known asset and joined no incident: kept until a commander handles it.

    Repeats of the same open alert (by fingerprint) update the row, never duplicate it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(max_length=16)
    fingerprint = models.CharField(max_length=200)
    group_key = models.CharField(max_length=500, blank=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=AlertStatus.choices)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.CharField(max_length=2000, blank=True)
    external_url = models.CharField(max_length=2000, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    times_seen = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=8, choices=InboxState.choices, default=InboxState.OPEN)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint"], condition=Q(state="open"), name="inbox_alert_open_once")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} ({self.state})"

    @property
    def severity_label(self) -> str:
        return str(self.labels.get(settings.ALERT_SEVERITY_LABEL, ""))


class AlertMapping(models.Model):
    """Alerts carrying all of `labels` are about `asset`: taught by a commander from the inbox."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey("inventory.Asset", on_delete=models.CASCADE, related_name="alert_mappings")
    labels = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.labels} → {self.asset_id}"
