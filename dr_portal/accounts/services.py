"""Writes about people: roles, API tokens, second factors."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, Role, User
from dr_portal.audit.services import audit_append

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
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_append(action="token.revoked", actor=locked.user, obj=locked, payload={"prefix": locked.prefix})
    return locked


@transaction.atomic
def user_set_role(*, user: User, role: Role, by: User | None = None) -> User:
    """Give `user` a role; admins also get Django's admin-site flags."""
    previous = user.role
    user.role = role
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    audit_append(
        action="person.role_set",
        actor=by,
        system_actor="system:setup",
        obj=user,
        payload={"username": user.username, "from": previous, "to": str(role)},
    )
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str, by: User | None, via: str) -> User:
    """Set a new password (already validated by the form) and revoke the person's API tokens.

    Django's sessions carry a hash of the password, so every other session of
    this person ends with the change; the caller keeps its own with
    update_session_auth_hash when the person changed their own password.
    """
    user.set_password(password)
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
