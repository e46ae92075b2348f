"""Incident command: incidents and drills, their roles, notes, alerts, filings, action items and reviews.

The timeline is not stored here: it is the audit events carrying an incident's
`public_id` (see incidents/selectors.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.querysets import DeliveryQuerySet, IncidentQuerySet


class IncidentKind(models.TextChoices):
    REAL = "real", "Incident"
    DRILL = "drill", "Drill"


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1 — critical"
    SEV2 = "SEV2", "SEV2 — major"
    SEV3 = "SEV3", "SEV3 — minor"
    SEV4 = "SEV4", "SEV4 — low"


class Category(models.TextChoices):
    AVAILABILITY = "availability", "Availability"
    INTEGRITY = "integrity", "Integrity"
    CONFIDENTIALITY = "confidentiality", "Confidentiality (data breach)"
    MODEL_CORRUPTION = "model_corruption", "AI: model corruption"
    DATA_POISONING = "data_poisoning", "AI: data poisoning"
    DRIFT = "drift", "AI: drift"
    UNSAFE_OUTPUT = "unsafe_output", "AI: unsafe output"
    COMPUTE_LOSS = "compute_loss", "AI: compute / GPU loss"


class IncidentStatus(models.TextChoices):
    DECLARED = "declared", "Declared"
    INVESTIGATING = "investigating", "Investigating"
    MITIGATING = "mitigating", "Mitigating"
    RECOVERING = "recovering", "Recovering"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = [
    IncidentStatus.DECLARED,
    IncidentStatus.INVESTIGATING,
    IncidentStatus.MITIGATING,
    IncidentStatus.RECOVERING,
]
# Forward one step, a step back when a fix did not hold, a false alarm resolved
# early, and a resolved incident reopened. Nothing leaves `closed`.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    IncidentStatus.DECLARED: (IncidentStatus.INVESTIGATING,),
    IncidentStatus.INVESTIGATING: (IncidentStatus.MITIGATING, IncidentStatus.RESOLVED),
    IncidentStatus.MITIGATING: (IncidentStatus.RECOVERING, IncidentStatus.INVESTIGATING, IncidentStatus.RESOLVED),
    IncidentStatus.RECOVERING: (IncidentStatus.RESOLVED, IncidentStatus.MITIGATING),
    IncidentStatus.RESOLVED: (IncidentStatus.CLOSED, IncidentStatus.INVESTIGATING),
    IncidentStatus.CLOSED: (),
}


class DetectionSource(models.TextChoices):
    ALERT = "alert", "Alert"
    USER_REPORT = "user_report", "User report"
    PROCESSOR = "processor_notice", "Processor / business-associate notice"
    REGULATOR = "regulator", "Regulator"
    DRILL_SCHEDULE = "drill_schedule", "Drill schedule"
    MANUAL = "manual", "Declared by hand"


class Incident(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=8, choices=IncidentKind.choices, default=IncidentKind.REAL)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    severity_rule = models.CharField(max_length=300, help_text="Which rule set the severity, in words.")
    category = models.CharField(max_length=32, choices=Category.choices)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.DECLARED)
    source = models.CharField(max_length=20, choices=DetectionSource.choices, default=DetectionSource.MANUAL)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    alert_group_key = models.CharField(max_length=500, blank=True, db_index=True)
    assets: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "inventory.Asset", through="IncidentAsset", related_name="incidents"
    )

    # Key times. `aware_at` starts the GDPR clock, `discovered_at` HIPAA's,
    # `ai_aware_at` the AI Act's; they are facts a person records, not
    # necessarily the moment the row was created.
    started_at = models.DateTimeField("estimated start", null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    declared_at = models.DateTimeField(default=timezone.now)
    aware_at = models.DateTimeField("GDPR: became aware", null=True, blank=True)
    discovered_at = models.DateTimeField("HIPAA: discovered", null=True, blank=True)
    ai_aware_at = models.DateTimeField("AI Act: provider aware", null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField("service restored", null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Data impact (GDPR Art. 33(3)(a), HIPAA §164.404(c)).
    personal_data = models.BooleanField(default=False)
    subject_categories = models.CharField("categories of data subjects", max_length=300, blank=True)
    subjects_approx = models.PositiveIntegerField("approx. data subjects", null=True, blank=True)
    record_categories = models.CharField("categories of records", max_length=300, blank=True)
    records_approx = models.PositiveBigIntegerField("approx. records", null=True, blank=True)
    special_categories = models.BooleanField("special categories (Art. 9)", default=False)
    phi = models.BooleanField("PHI involved", default=False)
    data_encrypted = models.BooleanField(
        "data was encrypted", default=False, help_text="Unintelligible to whoever got it, keys not compromised."
    )
    # EU AI Act Art. 73: a serious incident, and the facts that shorten its deadline.
    ai_serious = models.BooleanField("AI Act serious incident", default=False)
    ai_death = models.BooleanField("involves a death", default=False)
    ai_widespread = models.BooleanField("widespread infringement", default=False)
    ai_critical_infra = models.BooleanField("serious critical-infrastructure disruption", default=False)

    updated_at = models.DateTimeField(default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=IncidentKind.values), name="incident_kind_known"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="incident_severity_known"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="incident_category_known"),
            models.CheckConstraint(condition=Q(status__in=IncidentStatus.values), name="incident_status_known"),
            models.CheckConstraint(
                condition=~Q(status=IncidentStatus.CLOSED) | Q(closed_at__isnull=False), name="incident_closed_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"{'DRL' if self.kind == IncidentKind.DRILL else 'INC'}-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status == IncidentStatus.CLOSED

    @property
    def allowed_next(self) -> tuple[str, ...]:
        return TRANSITIONS[self.status]


class AssetSource(models.TextChoices):
    DECLARED = "declared", "At declaration"
    ALERT = "alert", "From an alert"
    BLAST_RADIUS = "blast_radius", "From the blast radius"
    ADDED = "added", "Added later"
    SCHEDULE = "schedule", "Drill schedule"


class DrillOutcome(models.TextChoices):
    PENDING = "", "Not recorded"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class IncidentAsset(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="asset_links")
    asset = models.ForeignKey("inventory.Asset", on_delete=models.PROTECT, related_name="incident_links")
    source = models.CharField(max_length=16, choices=AssetSource.choices)
    added_at = models.DateTimeField(default=timezone.now)
    drill_outcome = models.CharField(max_length=8, choices=DrillOutcome.choices, blank=True, default="")
    drill_evidence = models.TextField(blank=True)
    drill_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asset__name"]
        constraints = [models.UniqueConstraint(fields=["incident", "asset"], name="incident_asset_once")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.asset_id}"


class IncidentRole(models.TextChoices):
    COMMANDER = "commander", "Incident commander"
    DEPUTY = "deputy", "Deputy commander"
    SCRIBE = "scribe", "Scribe"
    COMMS = "comms_lead", "Comms lead"
    OPS = "ops_lead", "Ops lead"
    COMPLIANCE = "compliance_liaison", "Compliance liaison (DPO)"


class RoleAssignment(models.Model):
    """Who held an incident role, from when, given by whom, until whom relieved them."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(max_length=24, choices=IncidentRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_roles")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    relieved_at = models.DateTimeField(null=True, blank=True)
    relieved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"], condition=Q(relieved_at__isnull=True), name="incident_role_one_holder"
            ),
            models.CheckConstraint(condition=Q(role__in=IncidentRole.values), name="incident_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.relieved_at is None


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


class Note(models.Model):
    """A manual timeline note. Never edited: a correction is a new note pointing at the old one."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.body[:60]


class Pin(models.Model):
    """An important timeline entry, by its audit seq."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pins")
    seq = models.PositiveBigIntegerField()
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pinned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-seq"]
        constraints = [models.UniqueConstraint(fields=["incident", "seq"], name="pin_once")]

    def __str__(self) -> str:
        return f"pin #{self.seq}"


class Regime(models.TextChoices):
    GDPR_33 = "gdpr_33", "GDPR Art. 33 — supervisory authority"
    GDPR_34 = "gdpr_34", "GDPR Art. 34 — data subjects"
    HIPAA_INDIVIDUALS = "hipaa_404", "HIPAA §164.404 — individuals"
    HIPAA_HHS = "hipaa_408", "HIPAA §164.408 — HHS"
    HIPAA_MEDIA = "hipaa_406", "HIPAA §164.406 — media"
    AI_ACT = "ai_act_73", "EU AI Act Art. 73 — market surveillance authority"
    OTHER = "other", "Other (contract, insurer, NIS2…)"


class FilingPhase(models.TextChoices):
    INITIAL = "initial", "Initial"
    SUPPLEMENTARY = "supplementary", "Supplementary"
    FINAL = "final", "Final"


class Filing(models.Model):
    """One entry of the notifications register: what was filed, with whom, when, under which reference."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="filings")
    regime = models.CharField(max_length=16, choices=Regime.choices)
    phase = models.CharField(max_length=16, choices=FilingPhase.choices, default=FilingPhase.INITIAL)
    recipient = models.CharField(max_length=200, help_text="Authority, outlet or group notified.")
    channel = models.CharField(max_length=100, blank=True, help_text="Portal, email, letter…")
    reference = models.CharField(max_length=200, blank=True, help_text="Their case or receipt number.")
    filed_at = models.DateTimeField()
    summary = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filed_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(regime__in=Regime.values), name="filing_regime_known")]

    def __str__(self) -> str:
        return f"{self.regime} to {self.recipient}"


class DelayReason(models.Model):
    """Why a regulatory deadline was (or will be) missed; GDPR Art. 33(1) asks for it with a late notice."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="delay_reasons")
    regime = models.CharField(max_length=16, choices=Regime.choices)
    reason = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.regime}: {self.reason[:40]}"


class ActionKind(models.TextChoices):
    CORRECTIVE = "corrective", "Corrective"
    PREVENTIVE = "preventive", "Preventive"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class ActionItem(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=ActionKind.choices)
    critical = models.BooleanField(default=False, help_text="The incident cannot close while this is open.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="action_kind_known"),
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="action_status_known"),
        ]

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """The post-incident review; frozen once the commander signs it off."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"review of {self.incident_id}"

    @property
    def is_signed_off(self) -> bool:
        return self.signed_off_at is not None


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One outbound message (an email to some people, or a webhook call) and how sending it went."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    recipients = models.JSONField(default=list, help_text="Email addresses, or the webhook URL.")
    subject = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} ({self.status})"


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


class ReportKind(models.TextChoices):
    INCIDENT = "incident", "Incident audit report"
    READINESS = "readiness", "DR readiness report"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Building"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


ACTIVE_REPORT = [ReportStatus.QUEUED, ReportStatus.RUNNING]


class GeneratedReport(models.Model):
    """One signed PDF report: requested by a person, built by a worker, stored under REPORTS_DIR."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report_id = models.CharField(
        max_length=40, unique=True, help_text="Printed on every page, e.g. RPT-20261124-1A2B3C4D."
    )
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    period_first = models.DateField(null=True, blank=True)
    period_last = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    draft = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True, help_text="Relative to REPORTS_DIR.")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="The report.generated event.")
    anchor_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="Checkpoint the evidence cites.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReportKind.values), name="report_kind_known"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_known"),
            models.CheckConstraint(
                condition=(Q(kind=ReportKind.INCIDENT) & Q(incident__isnull=False) & Q(period_first__isnull=True))
                | (
                    Q(kind=ReportKind.READINESS)
                    & Q(incident__isnull=True)
                    & Q(period_first__isnull=False)
                    & Q(period_last__gte=models.F("period_first"))
                ),
                name="report_subject_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.SUCCEEDED) | ~Q(sha256=""), name="report_ready_has_hash"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.FAILED) | ~Q(error=""), name="report_failure_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"]), models.Index(fields=["sha256"])]

    def __str__(self) -> str:
        return f"{self.report_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REPORT

    @property
    def subject_label(self) -> str:
        if self.incident is not None:
            return f"{self.incident.reference} {self.incident.title}"
        return f"{self.period_first} to {self.period_last}"

    @property
    def download_name(self) -> str:
        return f"{self.report_id}.pdf"


# --- breach assessments ------------------------------------------------------------------


class AssessmentRegime(models.TextChoices):
    GDPR = "gdpr", "GDPR breach assessment"
    HIPAA = "hipaa", "HIPAA breach risk assessment"
    AI_ACT = "ai_act", "EU AI Act Art. 73 assessment"


class AssessmentAnswer(models.Model):
    """One answer to one question of an incident's breach assessment. Append-only: the newest per question holds."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assessment_answers")
    regime = models.CharField(max_length=10, choices=AssessmentRegime.choices)
    question = models.CharField(max_length=40)
    value = models.JSONField(null=True)
    rationale = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)
    audit_seq = models.BigIntegerField(null=True, help_text="The audit event that recorded this answer.")

    class Meta:
        ordering = ["answered_at", "pk"]
        indexes = [models.Index(fields=["incident", "question", "answered_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(regime__in=AssessmentRegime.values), name="assessment_regime_known"),
        ]

    def __str__(self) -> str:
        return f"{self.question} = {self.value!r}"
