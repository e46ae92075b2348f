"""People, their roles, and API tokens."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    INCIDENT_COMMANDER = "incident_commander", "Incident commander"
    ONCALL_ENGINEER = "oncall_engineer", "On-call engineer"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values),
                name="accounts_user_role_known",
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
