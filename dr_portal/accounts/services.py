"""Writes about people (roles, API tokens, second factors) and about the organisation profile."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, OrganisationProfile, ProcessorRelationship, Role, SignoffDuty, User
from dr_portal.accounts.people import person_update
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused

TOKEN_PREFIX = "drp_"  # noqa: S105 - a public marker, not a secret


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once; never stored


@transaction.atomic
def token_issue(*, user: User, name: str, mfa_verified: bool) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "API token",
        prefix=raw[:12],
        digest=token_digest(raw),
        mfa_verified=mfa_verified,
        expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS),
        password_stamp=user.password_stamp,
    )
    audit_append(
        action="token.issued",
        actor=user,
        obj=token,
        payload={"name": token.name, "prefix": token.prefix, "mfa_verified": mfa_verified},
    )
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    locked = ApiToken.objects.select_for_update(no_key=True).get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_append(action="token.revoked", actor=locked.user, obj=locked, payload={"prefix": locked.prefix})
    return locked


def user_set_role(*, user: User, role: Role, by: User | None = None) -> User:
    """Give `user` a role (admins also get Django's admin-site flags); audited by person_update."""
    updated = person_update(user_id=user.pk, changes={"role": role}, by=by, via="setup")
    user.role, user.is_staff, user.is_superuser = updated.role, updated.is_staff, updated.is_superuser
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str | None, by: User | None, via: str) -> User:
    """Set a new password (already validated by the form) and revoke the person's API tokens.

    Django's sessions carry a hash of the password, so every other session of
    this person ends with the change; the caller keeps its own with
    update_session_auth_hash when the person changed their own password.
    """
    user.set_password(password)  # None: no password sign-in at all
    user.save(update_fields=["password"])
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_append(
        action="person.password_changed",
        actor=by,
        system_actor="" if by else "system:accounts",
        obj=user,
        payload={"username": user.username, "via": via, "tokens_revoked": revoked},
    )
    return user


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The person's unconfirmed TOTP device, created on first visit."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_confirm(*, device: TOTPDevice, code: str) -> bool:
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One authenticator per person: a new enrolment replaces older ones.
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    audit_append(action="mfa.enrolled", actor=device.user, object_type="otp_totp.totpdevice", object_id=str(device.pk))
    return True


# --- the organisation profile: every compliance report prints it -----------------------

# The fields a person edits, in the order forms, the API and the reports show them.
PROFILE_FIELDS: tuple[str, ...] = (
    "legal_name",
    "registration_numbers",
    "postal_address",
    "gdpr_role",
    "hipaa_role",
    "lead_supervisory_authority",
    "dpo_name",
    "dpo_email",
    "dpo_phone",
    "security_officer_name",
    "security_officer_email",
    "security_officer_phone",
    "privacy_officer_name",
    "privacy_officer_email",
    "public_contact",
    "required_signoffs",
)
RELATIONSHIP_FIELDS: tuple[str, ...] = ("name", "kind", "agreement_reference", "breach_contact", "notice_hours")


class OrganisationRefused(Refused):
    code = "organisation_refused"


def _duties(value: Any) -> list[str]:
    """The required sign-off duties as a sorted list without repeats; an unknown duty is refused."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise OrganisationRefused("Required sign-offs: give a list of duties.", code="bad_duties")
    unknown = sorted(set(value) - set(SignoffDuty.values))
    if unknown:
        raise OrganisationRefused(
            f"Required sign-offs: unknown duty {unknown[0]!r}; use {', '.join(SignoffDuty.values)}.", code="bad_duties"
        )
    return [duty for duty in SignoffDuty.values if duty in value]


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


@transaction.atomic
def organisation_update(*, changes: Mapping[str, Any], by: User) -> OrganisationProfile:
    """Change some profile fields; one audit event lists each changed field's old and new value.

    Raises ValidationError (nothing saved) when a value is not acceptable.
    """
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise OrganisationRefused(f"Not a profile field: {', '.join(unknown)}.", code="unknown_field")
    if "required_signoffs" in changes:
        changes = {**changes, "required_signoffs": _duties(changes["required_signoffs"])}
    profile, _ = OrganisationProfile.objects.select_for_update(no_key=True).get_or_create(id=1)
    before = {name: getattr(profile, name) for name in changes}
    for name, value in changes.items():
        setattr(profile, name, _clean_text(value) if value is not None else "")
    profile.full_clean(exclude=["updated_by", "updated_at"])
    changed = {
        name: {"from": before[name], "to": getattr(profile, name)}
        for name in PROFILE_FIELDS
        if name in changes and before[name] != getattr(profile, name)
    }
    if not changed:
        return profile
    profile.updated_at = timezone.now()
    profile.updated_by = by
    profile.save(update_fields=[*changed, "updated_at", "updated_by"])
    audit_append(action="organisation.updated", actor=by, obj=profile, payload={"changed": changed})
    return profile


@transaction.atomic
def processor_add(
    *,
    name: str,
    kind: str,
    by: User,
    agreement_reference: str = "",
    breach_contact: str = "",
    notice_hours: int | None = None,
) -> ProcessorRelationship:
    relationship = ProcessorRelationship(
        name=name.strip(),
        kind=kind,
        agreement_reference=agreement_reference.strip(),
        breach_contact=breach_contact.strip(),
        notice_hours=notice_hours,
        created_by=by,
    )
    relationship.full_clean(exclude=["created_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            relationship.save()
    except IntegrityError:
        raise OrganisationRefused(
            f"{relationship.name} is already recorded as {relationship.get_kind_display().lower()}.", code="duplicate"
        ) from None
    audit_append(
        action="organisation.processor_added",
        actor=by,
        obj=relationship,
        payload={f: getattr(relationship, f) for f in RELATIONSHIP_FIELDS},
    )
    return relationship


@transaction.atomic
def processor_remove(*, relationship: ProcessorRelationship, by: User) -> None:
    locked = ProcessorRelationship.objects.select_for_update(no_key=True).filter(pk=relationship.pk).first()
    if locked is None:
        raise OrganisationRefused("That relationship was already removed.", code="gone")
    payload = {f: getattr(locked, f) for f in RELATIONSHIP_FIELDS}
    audit_append(action="organisation.processor_removed", actor=by, obj=locked, payload=payload)
    locked.delete()


def validation_message(exc: ValidationError) -> str:
    """A ValidationError as one line for a page's flash."""
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
