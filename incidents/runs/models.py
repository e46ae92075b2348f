"""Recovery runs: a plan executed in a mode, step by step, with approvals and measured RTO/RPO."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from dr_portal.accounts.contents import contents_visible, shown
from incidents.runs.querysets import RunQuerySet, StepQuerySet
from inventory.models import Asset, PlanStep, RecoveryPlan, RecoveryPoint, StepKind


class Mode(models.TextChoices):
    DRILL = "drill", "Drill (isolated target, cleaned up)"
    RECOVERY = "recovery", "Recovery"
    FAILBACK = "failback", "Failback"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
    VERIFYING = "verifying", "Verifying"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


RUN_ACTIVE = [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING_APPROVAL, RunStatus.VERIFYING]
RUN_FINISHED = [RunStatus.SUCCEEDED, RunStatus.PARTIALLY_FAILED, RunStatus.FAILED, RunStatus.CANCELLED]


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
    APPROVED = "approved", "Approved"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Approval expired"


STEP_DONE = [StepState.SUCCEEDED, StepState.SKIPPED, StepState.CANCELLED]
STEP_UNSUCCESSFUL = [StepState.FAILED, StepState.REJECTED, StepState.EXPIRED]
STEP_FINISHED = [*STEP_DONE, *STEP_UNSUCCESSFUL]
STEP_IN_FLIGHT = [StepState.QUEUED, StepState.RUNNING]


class RecoveryRun(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Every new run belongs to an incident (a drill is an incident of kind drill); the
    # column allows null only for runs made before incidents existed.
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="recovery_runs"
    )
    plan = models.ForeignKey(RecoveryPlan, on_delete=models.PROTECT, related_name="runs")
    plan_version = models.PositiveIntegerField()
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    assets = models.ManyToManyField(Asset, related_name="recovery_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="Left the queue and took its assets.")
    finished_at = models.DateTimeField(null=True, blank=True)
    outage_started_at = models.DateTimeField(help_text="Start of the outage (or of the drill): the RTO clock.")
    service_verified_at = models.DateTimeField(null=True, blank=True)
    data_as_of = models.DateTimeField(null=True, blank=True, help_text="The oldest recovery point used.")
    rto_target_seconds = models.PositiveIntegerField(null=True, blank=True)
    rpo_target_seconds = models.PositiveIntegerField(null=True, blank=True)
    achieved_rto_seconds = models.PositiveIntegerField(null=True, blank=True)
    achieved_rpo_seconds = models.PositiveIntegerField(null=True, blank=True)
    current_group = models.PositiveSmallIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="Last time a worker was nudged.")
    cancel_reason = models.TextField(blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)
    cleaned_at = models.DateTimeField(null=True, blank=True, help_text="Drill targets removed.")
    cleaning_at = models.DateTimeField(
        null=True, blank=True, help_text="A clean-up worker's lease: set when one starts, renewed while it works."
    )

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_known"),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="run_mode_known"),
            models.CheckConstraint(
                condition=Q(status__in=RUN_ACTIVE) | Q(finished_at__isnull=False), name="run_finished_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # The API's keyset pages: newest first, the id breaking ties.
            models.Index(fields=["-created_at", "-id"], name="run_newest"),
        ]

    def __str__(self) -> str:
        return f"run {self.public_id} ({self.status})"

    @property
    def shown_error(self) -> str:
        """The error as the person asking may see it (a file it names only to restorers)."""
        return cast("str", shown(self.error))

    @property
    def reference(self) -> str:
        return f"RUN-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in RUN_ACTIVE

    @property
    def incident_uuid(self) -> uuid.UUID | None:
        """The incident's public id, which its timeline (the audit log) is keyed by."""
        return self.incident.public_id if self.incident is not None else None

    @property
    def rto_met(self) -> bool | None:
        if self.achieved_rto_seconds is None or self.rto_target_seconds is None:
            return None
        return self.achieved_rto_seconds <= self.rto_target_seconds

    @property
    def rpo_met(self) -> bool | None:
        if self.achieved_rpo_seconds is None or self.rpo_target_seconds is None:
            return None
        return self.achieved_rpo_seconds <= self.rpo_target_seconds


class RunLock(models.Model):
    """An asset held by one run; the unique asset is what keeps two runs off it at once."""

    asset = models.OneToOneField(Asset, on_delete=models.PROTECT, related_name="run_lock")
    run = models.ForeignKey(RecoveryRun, on_delete=models.CASCADE, related_name="locks")
    acquired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.asset_id} held by {self.run_id}"


class StepRun(models.Model):
    """One plan step within one run: a copy of the plan step, resolved to a point and a target."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(RecoveryRun, on_delete=models.CASCADE, related_name="steps")
    plan_step = models.ForeignKey(PlanStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    group = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    critical = models.BooleanField(default=True)
    timeout_seconds = models.PositiveIntegerField()
    requires_approval = models.BooleanField(default=False)
    approval_role = models.CharField(max_length=32, blank=True)
    approval_quorum = models.PositiveSmallIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    # Resolved when the run is created, so approvers see exactly what will happen.
    point = models.ForeignKey(RecoveryPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_path = models.CharField(max_length=500, blank=True)
    target_region = models.CharField(max_length=64, blank=True)
    # For an asset with a connector: the target system's configuration (secrets only as references);
    # target_path then only names it for people.
    target_config = models.JSONField(default=dict, blank=True)
    params_digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical parameters.")

    state = models.CharField(max_length=20, choices=StepState.choices, default=StepState.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(null=True, blank=True)
    rate_bps = models.FloatField(null=True, blank=True, help_text="Bytes per second over this attempt.")
    phase = models.CharField(
        max_length=300, blank=True, help_text="Where a running connector step stands, for the run page."
    )
    phase_at = models.DateTimeField(null=True, blank=True, help_text="When the step entered its current phase.")
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Lease: the worker's last sign of life.")
    worker = models.CharField(max_length=200, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True, help_text="A waiting step looks again at this time.")
    evidence = models.JSONField(default=dict, blank=True)
    # What a connector restore created in its target (saved as it goes) and what clean-up did with it.
    ledger = models.JSONField(default=list, blank=True)
    # Whether the ledger holds every attempt's record: true of every step made since restores keep one.
    # False on a step made before (runs/0009): its restore may have made things no record names, so
    # its clean-up removes only what the ledger names and says what to check by hand.
    ledger_complete = models.BooleanField(default=True)
    error_code = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    skip_reason = models.TextField(blank=True)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who skipped it, or marked a manual step done.",
    )
    approval_round = models.PositiveSmallIntegerField(default=0)
    approval_requested_at = models.DateTimeField(null=True, blank=True)
    approval_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Everyone who changed the step's point or target: like the requester, they shaped
    # what an approval approves, so none of them may approve it (four eyes).
    changed_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    objects = StepQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="step_run_key_unique"),
            models.CheckConstraint(condition=Q(state__in=StepState.values), name="step_state_known"),
            models.CheckConstraint(
                condition=~Q(state=StepState.SKIPPED) | ~Q(skip_reason=""), name="step_skip_has_reason"
            ),
            models.CheckConstraint(condition=~Q(state=StepState.FAILED) | ~Q(error=""), name="step_failure_has_reason"),
            models.CheckConstraint(
                condition=Q(bytes_total__isnull=True) | Q(bytes_done__lte=F("bytes_total")),
                name="step_bytes_within_total",
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"step {self.key} of run {self.run_id} ({self.state})"

    @property
    def shown_error(self) -> str:
        """The error as the person asking may see it (a file it names only to restorers)."""
        return cast("str", shown(self.error))

    @property
    def shown_target_path(self) -> str | None:
        """Where the step restores to (a server folder, a system's address) only for people who may restore."""
        return self.target_path if contents_visible() else None

    @property
    def shown_evidence(self) -> dict[str, Any]:
        """The evidence as the person asking may see it (a point's file names and digests only to restorers)."""
        return cast("dict[str, Any]", shown(self.evidence))

    @property
    def percent(self) -> int | None:
        if not self.bytes_total:
            return 100 if self.state == StepState.SUCCEEDED else None
        return min(100, int(100 * self.bytes_done / self.bytes_total))

    @property
    def is_finished(self) -> bool:
        return self.state in STEP_FINISHED

    @property
    def phase_for(self) -> timedelta | None:
        """How long a running step has been in its current phase (the run page's moving clock)."""
        if self.state != StepState.RUNNING or not self.phase or self.phase_at is None:
            return None
        return max(timezone.now() - self.phase_at, timedelta(0))

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class Approval(models.Model):
    """One person's decision on one step, bound to the step's parameters as they were."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField()
    round = models.PositiveSmallIntegerField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A person counts once per request for approval, however often they click.
            models.UniqueConstraint(fields=["step", "approver", "round", "digest"], name="approval_once_per_person"),
            models.CheckConstraint(condition=~Q(comment=""), name="approval_has_comment"),
            models.CheckConstraint(condition=Q(decision__in=Decision.values), name="approval_decision_known"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of {self.step_id} by {self.approver_id}"


class WaitOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class ApprovalWait(models.Model):
    """One request for approval that ended in a decision: how long people took (the wait's history).

    A step keeps only its current round's request time, so the history of waits is kept here,
    one row per round that was approved, rejected or expired (a round abandoned by a cancel,
    a skip or a change of parameters never got a decision and is not one).
    """

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="approval_waits")
    round = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=8, choices=WaitOutcome.choices)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "round"], name="approval_wait_once_per_round"),
            models.CheckConstraint(condition=Q(outcome__in=WaitOutcome.values), name="approval_wait_outcome_known"),
            models.CheckConstraint(condition=Q(decided_at__gte=F("requested_at")), name="approval_wait_not_negative"),
        ]

    def __str__(self) -> str:
        return f"wait of {self.step_id} round {self.round}: {self.outcome}"


# Models that live in their own packages, registered with this app.
from incidents.runs.certificate.models import RunCertificate  # noqa: E402
from incidents.runs.drivers.models import EndpointRoute  # noqa: E402
from incidents.runs.golden.models import GoldenSet  # noqa: E402

__all__ = ["Approval", "EndpointRoute", "GoldenSet", "RecoveryRun", "RunCertificate", "RunLock", "StepRun"]
