"""Who is on call (schedules, layers, overrides), whom to page next (escalation), and the pages themselves."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Schedule(models.Model):
    """One team's on-call schedule: rotating layers, and overrides that win over them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.CharField(max_length=100, unique=True, help_text="The owner team named on assets.")
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Layer(models.Model):
    """A rotation over `members`: each holds it for `shift_hours`, handing off at `handoff_at` + k shifts."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    handoff_at = models.DateTimeField(help_text="The first hand-off; the rotation counts shifts from here.")
    shift_hours = models.PositiveSmallIntegerField(default=168)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    members = models.JSONField(default=list, help_text="User ids in rotation order.")

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_hours__gte=1), name="layer_shift_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")), name="layer_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} / {self.name}"


class Override(models.Model):
    """Someone covers the schedule for a while (a swap, a sick day); wins over every layer."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"override {self.user_id} {self.starts_at:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    """For incidents of one severity: notify level 1; if nobody acknowledges in N minutes, level 2, and so on."""

    severity = models.CharField(max_length=4, unique=True)
    repeat_minutes = models.PositiveSmallIntegerField(
        default=5, help_text="Re-notify the last level this often until someone acknowledges."
    )

    class Meta:
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return f"escalation for {self.severity}"


class EscalationLevel(models.Model):
    """One level: the on-call of a schedule, a named person, or hand over to another severity's policy."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    wait_minutes = models.PositiveSmallIntegerField(default=10)
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    then_policy = models.ForeignKey(EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_level_once"),
            models.CheckConstraint(
                condition=(
                    Q(schedule__isnull=False, user__isnull=True, then_policy__isnull=True)
                    | Q(schedule__isnull=True, user__isnull=False, then_policy__isnull=True)
                    | Q(schedule__isnull=True, user__isnull=True, then_policy__isnull=False)
                ),
                name="escalation_level_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} level {self.position}"


class PageStatus(models.TextChoices):
    TRIGGERED = "triggered", "Not acknowledged"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Page(models.Model):
    """One incident paging its on-call: who was notified at which level, and who acknowledged, how."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="pages")
    policy = models.ForeignKey(EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=PageStatus.choices, default=PageStatus.TRIGGERED)
    level = models.PositiveSmallIntegerField(default=1)
    notified = models.JSONField(default=list, help_text="User ids notified at the current level.")
    notifications = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    level_started_at = models.DateTimeField(default=timezone.now)
    next_notify_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_via = models.CharField(max_length=16, blank=True)
    problem = models.TextField(blank=True, help_text="Why nobody could be notified, when that happened.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PageStatus.values), name="page_status_known"),
            models.UniqueConstraint(
                fields=["incident"], condition=Q(status="triggered"), name="one_open_page_per_incident"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_notify_at"])]

    def __str__(self) -> str:
        return f"page {self.public_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == PageStatus.TRIGGERED
