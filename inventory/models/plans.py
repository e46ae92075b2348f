"""Recovery plans: ordered groups of steps, each step of one kind, some acting on one asset."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inventory.models.catalog import Asset


class StepKind(models.TextChoices):
    RESTORE = "restore", "Restore"
    VERIFY = "verify", "Verify"
    SMOKE = "smoke", "Smoke check"
    FAILOVER = "failover", "Failover switch"
    DEGRADE = "degrade", "Degrade to fallback"
    WAIT = "wait", "Wait"
    NOTIFY = "notify", "Notify"
    MANUAL = "manual", "Manual action"


# Kinds that act on one asset and so must name it.
ASSET_STEP_KINDS = frozenset({StepKind.RESTORE, StepKind.VERIFY, StepKind.FAILOVER, StepKind.DEGRADE})


class RecoveryPlan(models.Model):
    """Ordered groups of steps that bring a set of assets back; the steps of a group may run at once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    assets = models.ManyToManyField(Asset, related_name="plans", blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Goes up each time the steps change.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlanStep(models.Model):
    """One step of a plan. `params` hold the kind's settings (see inventory/plans.py)."""

    plan = models.ForeignKey(RecoveryPlan, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=80, help_text="Unique within the plan; other steps name it in `after`.")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="plan_steps")
    group = models.PositiveSmallIntegerField(help_text="1 runs first; steps of one group may run in parallel.")
    position = models.PositiveSmallIntegerField(help_text="Order across the whole plan.")
    after = models.JSONField(default=list, blank=True, help_text="Keys of the steps that must finish first.")
    critical = models.BooleanField(default=True, help_text="If it fails, the run fails.")
    timeout_seconds = models.PositiveIntegerField(default=3600)
    requires_approval = models.BooleanField(default=False)
    approval_role = models.CharField(max_length=32, blank=True)
    approval_quorum = models.PositiveSmallIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="plan_step_key_unique"),
            models.CheckConstraint(condition=Q(kind__in=StepKind.values), name="plan_step_kind_known"),
            models.CheckConstraint(condition=Q(group__gte=1), name="plan_step_group_positive"),
            # A failover changes what serves production: it always waits for people.
            models.CheckConstraint(
                condition=~Q(kind=StepKind.FAILOVER) | Q(requires_approval=True), name="plan_failover_needs_approval"
            ),
            models.CheckConstraint(
                condition=Q(requires_approval=False) | (Q(approval_quorum__gte=1) & ~Q(approval_role="")),
                name="plan_approval_has_role_and_quorum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.key}"
