"""People, their roles, and API tokens."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    INCIDENT_COMMANDER = "incident_commander", "Incident commander"
    ONCALL_ENGINEER = "oncall_engineer", "On-call engineer"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    VIEWER = "viewer", "Viewer"


class PersonManager(UserManager["User"]):
    """Django's manager, except that a superuser is made as an admin (the flags follow the role)."""

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)

    def create_user(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        role = extra_fields.setdefault("role", Role.VIEWER)
        extra_fields.setdefault("is_staff", role == Role.ADMIN)
        extra_fields.setdefault("is_superuser", role == Role.ADMIN)
        return super().create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.VIEWER)

    objects: ClassVar[PersonManager] = PersonManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values),
                name="accounts_user_role_known",
            ),
            # Django's admin-site flags are derived from the role, never set on their own.
            models.CheckConstraint(
                condition=models.Q(role="admin", is_staff=True, is_superuser=True)
                | (~models.Q(role="admin") & models.Q(is_staff=False, is_superuser=False)),
                name="accounts_user_flags_follow_role",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def password_stamp(self) -> str:
        """Changes whenever the password does (its hash has a fresh salt): what API tokens are bound to."""
        return hashlib.sha256(self.password.encode()).hexdigest()

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 digest is stored."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the token.")
    digest = models.CharField(max_length=64, unique=True)
    mfa_verified = models.BooleanField(
        default=False, help_text="Issued after a one-time code was checked, so it may do MFA-gated work."
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The owner's User.password_stamp at issue: a password change, on any screen or
    # command, leaves every older token unusable.
    password_stamp = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return (
            self.revoked_at is None
            and self.expires_at > timezone.now()
            and self.password_stamp == self.user.password_stamp
        )


# --- the organisation -------------------------------------------------------------------


class GdprRole(models.TextChoices):
    CONTROLLER = "controller", "Controller"
    PROCESSOR = "processor", "Processor"
    BOTH = "both", "Controller and processor"
    NOT_APPLICABLE = "not_applicable", "GDPR does not apply"


class HipaaRole(models.TextChoices):
    COVERED_ENTITY = "covered_entity", "Covered entity"
    BUSINESS_ASSOCIATE = "business_associate", "Business associate"
    BOTH = "both", "Covered entity and business associate"
    NOT_APPLICABLE = "not_applicable", "HIPAA does not apply"


class SignoffDuty(models.TextChoices):
    """The duties that sign an incident report (COMPLIANCE.md §15)."""

    INCIDENT_COMMANDER = "incident_commander", "Incident commander"
    SECURITY_OFFICER = "security_officer", "Security officer (HIPAA)"
    DPO = "dpo", "Data protection officer"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    LEGAL = "legal", "Legal"


def default_required_signoffs() -> list[str]:
    return [SignoffDuty.INCIDENT_COMMANDER, SignoffDuty.COMPLIANCE_OFFICER]


class OrganisationProfile(models.Model):
    """Who the organisation is, as every compliance report states it. One row (id 1); blank means not recorded."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    legal_name = models.CharField(max_length=200, blank=True)
    registration_numbers = models.TextField(
        blank=True, help_text="Company number, VAT, DUNS, NPI…: one per line, as regulators' forms ask for them."
    )
    postal_address = models.TextField(blank=True)
    gdpr_role = models.CharField("GDPR role", max_length=20, choices=GdprRole.choices, blank=True)
    hipaa_role = models.CharField("HIPAA role", max_length=20, choices=HipaaRole.choices, blank=True)
    dpo_name = models.CharField("DPO name", max_length=200, blank=True)
    dpo_email = models.EmailField("DPO email", blank=True)
    dpo_phone = models.CharField("DPO phone", max_length=40, blank=True)
    security_officer_name = models.CharField(max_length=200, blank=True)
    security_officer_email = models.EmailField(blank=True)
    security_officer_phone = models.CharField(max_length=40, blank=True)
    privacy_officer_name = models.CharField("HIPAA privacy officer name", max_length=200, blank=True)
    privacy_officer_email = models.EmailField("HIPAA privacy officer email", blank=True)
    public_contact = models.TextField(
        "Contact given to individuals",
        blank=True,
        help_text="Toll-free number, email, website or postal address (HIPAA §164.404(c)(1)(E)).",
    )
    lead_supervisory_authority = models.CharField(
        max_length=200, blank=True, help_text="The default lead supervisory authority (GDPR Art. 56), e.g. CNIL."
    )
    required_signoffs = models.JSONField(
        default=default_required_signoffs,
        blank=True,
        help_text="Duties whose sign-off an incident report needs before it can be final.",
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="organisation_profile_single_row"),
            models.CheckConstraint(
                condition=models.Q(gdpr_role__in=[*GdprRole.values, ""]), name="organisation_gdpr_role_known"
            ),
            models.CheckConstraint(
                condition=models.Q(hipaa_role__in=[*HipaaRole.values, ""]), name="organisation_hipaa_role_known"
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name or "organisation (not named yet)"


class Counterparty(models.TextChoices):
    PROCESSOR = "processor", "Our processor (GDPR Art. 28)"
    CONTROLLER = "controller", "A controller we process for (GDPR Art. 33(2))"
    BUSINESS_ASSOCIATE = "business_associate", "Our business associate (HIPAA)"
    COVERED_ENTITY = "covered_entity", "A covered entity we serve as business associate (HIPAA §164.410)"


class ProcessorRelationship(models.Model):
    """A processor / business-associate relationship: who must tell whom about a breach, and by when."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, help_text="The other party's legal name.")
    kind = models.CharField(max_length=20, choices=Counterparty.choices)
    agreement_reference = models.CharField(max_length=200, blank=True, help_text="DPA or BAA reference.")
    breach_contact = models.CharField(max_length=200, blank=True, help_text="Who receives (or sends) breach notices.")
    notice_hours = models.PositiveIntegerField(
        "Notice within (hours)",
        null=True,
        blank=True,
        help_text="Contractual deadline for the breach notice, in hours.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=Counterparty.values), name="processor_kind_known"),
            models.UniqueConstraint(fields=["name", "kind"], name="processor_name_kind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
