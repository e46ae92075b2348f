"""Rows of the notification register, the people who hold sign-off duties, and their sign-offs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dr_portal.accounts.models import SignoffDuty
from incidents.models import Incident, Regime


class NoticePhase(models.TextChoices):
    INITIAL = "initial", "Initial"
    SUPPLEMENTARY = "supplementary", "Supplementary"
    FINAL = "final", "Final"


class RecipientKind(models.TextChoices):
    AUTHORITY = "authority", "Supervisory authority (GDPR Art. 33)"
    INDIVIDUALS = "individuals", "Individuals (GDPR Art. 34 / HIPAA §164.404)"
    MEDIA = "media", "Media (HIPAA §164.406)"
    HHS = "hhs", "HHS (HIPAA §164.408)"
    PROCESSOR_CONTROLLER = "processor_controller", "Processor → controller (GDPR Art. 33(2))"
    BA_CE = "ba_ce", "Business associate → covered entity (HIPAA §164.410)"
    AI_AUTHORITY = "ai_authority", "Market surveillance authority (EU AI Act Art. 73)"
    OTHER = "other", "Other (contract, insurer, NIS2…)"


# Which regulatory clocks a notice to each kind of recipient stops.
KIND_REGIMES: dict[str, tuple[str, ...]] = {
    RecipientKind.AUTHORITY: (Regime.GDPR_33,),
    RecipientKind.INDIVIDUALS: (Regime.GDPR_34, Regime.HIPAA_INDIVIDUALS),
    RecipientKind.MEDIA: (Regime.HIPAA_MEDIA,),
    RecipientKind.HHS: (Regime.HIPAA_HHS,),
    RecipientKind.AI_AUTHORITY: (Regime.AI_ACT,),
}

# The recipient kind a notice under each regime goes to (the old per-regime filings moved with it).
REGIME_KIND: dict[str, str] = {
    Regime.GDPR_33: RecipientKind.AUTHORITY,
    Regime.GDPR_34: RecipientKind.INDIVIDUALS,
    Regime.HIPAA_INDIVIDUALS: RecipientKind.INDIVIDUALS,
    Regime.HIPAA_MEDIA: RecipientKind.MEDIA,
    Regime.HIPAA_HHS: RecipientKind.HHS,
    Regime.AI_ACT: RecipientKind.AI_AUTHORITY,
    Regime.OTHER: RecipientKind.OTHER,
}


class Notification(models.Model):
    """One notice given about a breach: to whom, how, when, how many people, their reference, what was sent."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=RecipientKind.choices)
    regime = models.CharField(
        max_length=16,
        choices=Regime.choices,
        blank=True,
        help_text="The one regime this notice answers when its recipient kind covers several (a letter to "
        "individuals under GDPR Art. 34 only, say); blank: every regime of its recipient kind.",
    )
    phase = models.CharField(max_length=16, choices=NoticePhase.choices, default=NoticePhase.INITIAL)
    recipient = models.CharField(max_length=200, help_text="The authority, controller, outlet or group notified.")
    channel = models.CharField(max_length=100, help_text="Portal, email, first-class mail, press release…")
    sent_at = models.DateTimeField()
    count_notified = models.PositiveIntegerField(null=True, blank=True, help_text="People notified, when people.")
    reference = models.CharField(max_length=200, blank=True, help_text="Their case or receipt number.")
    summary = models.TextField(blank=True, help_text="What the notice said, in a sentence or two.")
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment = models.BinaryField(null=True, blank=True, help_text="The notice as sent (at most 5 MiB).")
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    audit_seq = models.BigIntegerField(null=True, help_text="The audit event that recorded this notice.")

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RecipientKind.values), name="notification_kind_known"),
            models.CheckConstraint(
                condition=Q(regime="") | Q(regime__in=Regime.values), name="notification_regime_known"
            ),
            models.CheckConstraint(
                condition=Q(attachment_name="") | ~Q(attachment_sha256=""), name="notification_attachment_hashed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient}"

    @property
    def regimes(self) -> tuple[str, ...]:
        """The regulatory clocks this notice stops."""
        covered = KIND_REGIMES.get(self.kind, ())
        if self.regime:
            return tuple(r for r in covered if r == self.regime)
        return covered


class DutyHolder(models.Model):
    """A person who holds a sign-off duty (security officer, DPO, legal…), named by an admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duties")
    duty = models.CharField(max_length=24, choices=SignoffDuty.choices)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["duty", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "duty"], name="duty_holder_once"),
            models.CheckConstraint(condition=Q(duty__in=SignoffDuty.values), name="duty_holder_duty_known"),
        ]

    def __str__(self) -> str:
        return f"{self.duty}: {self.user_id}"


class SignoffDecision(models.TextChoices):
    SIGNED = "signed", "Signed"
    REFUSED = "refused", "Refused to sign"


class SignOff(models.Model):
    """One person's signature (or refusal, with the reason) on an incident's report, for one duty.

    Append-only: the newest row per duty holds. `digest` is the SHA-256 of the
    report facts the person saw when signing, so a later change is visible.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="signoffs")
    duty = models.CharField(max_length=24, choices=SignoffDuty.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=SignoffDecision.choices)
    reason = models.TextField(blank=True)
    signed_at = models.DateTimeField(default=timezone.now)
    digest = models.CharField(max_length=64)
    audit_seq = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["signed_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(duty__in=SignoffDuty.values), name="signoff_duty_known"),
            models.CheckConstraint(condition=Q(decision__in=SignoffDecision.values), name="signoff_decision_known"),
            models.CheckConstraint(condition=Q(decision="signed") | ~Q(reason=""), name="signoff_refusal_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.duty} {self.decision} by {self.user_id}"
