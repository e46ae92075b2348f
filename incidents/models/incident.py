"""Incidents and drills, with their assets, role holders, notes, pins, delay reasons, action items and review."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from incidents.querysets import IncidentQuerySet


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
        indexes = [
            models.Index(fields=["status", "kind"]),
            # The API's list pages by keyset, the most recently declared first.
            models.Index(fields=["-declared_at", "-id"], name="incident_newest"),
        ]

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
        """The states it may move to. A drill whose every asset has its outcome recorded is done:
        it may be resolved straight away, from any open state (first, as the next step)."""
        allowed = TRANSITIONS[self.status]
        if self.drill_done and IncidentStatus.RESOLVED not in allowed:
            return (IncidentStatus.RESOLVED, *allowed)
        return allowed

    @cached_property
    def drill_outcomes(self) -> list[str]:
        """Each asset's drill outcome ("" when not recorded) of an open drill; [] for anything else."""
        if self.kind != IncidentKind.DRILL or not self.is_open:
            return []
        return list(self.asset_links.values_list("drill_outcome", flat=True))

    @property
    def drill_done(self) -> bool:
        """An open drill with an outcome (passed or failed) recorded for every one of its assets."""
        return bool(self.drill_outcomes) and all(self.drill_outcomes)

    @property
    def drill_tally(self) -> str:
        """``2 passed, 1 failed`` for a done drill."""
        counts = {o: self.drill_outcomes.count(o) for o in ("passed", "failed")}
        return ", ".join(f"{n} {o}" for o, n in counts.items() if n)


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
    SECURITY = "security_officer", "Security Officer (HIPAA)"
    LEGAL = "legal", "Legal"
    AI_OWNER = "ai_owner", "AI-system owner"


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
