"""Every change to a person — role, active, name and email, password, second factor — in one place.

Whatever screen makes the change (the admin site, a management command, a
page), it comes through these services, so each change is audited in the same
transaction and Django's `is_staff` / `is_superuser` stay derived from the
role (a database constraint holds them to it as well).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, Role, User
from dr_portal.audit.services import audit_append

# Fields a screen may change directly; anything else about a person has its own service.
EDITABLE = ("role", "is_active", "first_name", "last_name", "email")
PERSONAL = ("first_name", "last_name", "email")  # kept in the event's erasable personal part


def display_name(user: User) -> str:
    """A person as others know them: the full name, else the username."""
    return user.get_full_name().strip() or user.get_username()


def _derive_flags(user: User) -> None:
    user.is_staff = user.role == Role.ADMIN
    user.is_superuser = user.role == Role.ADMIN


@transaction.atomic
def person_add(*, user: User, by: User | None, via: str) -> User:
    """Save a new person (built by a form, password already hashed), with flags derived from the role."""
    _derive_flags(user)
    user.save()
    audit_append(
        action="person.added",
        actor=by,
        system_actor="" if by else "system:accounts",
        obj=user,
        payload={"username": user.username, "role": user.role, "is_active": user.is_active, "via": via},
    )
    return user


@transaction.atomic
def person_update(*, user_id: int, changes: Mapping[str, Any], by: User | None, via: str) -> User:
    """Apply `changes` (a subset of EDITABLE) to the person, audit what really changed, revoke on deactivation."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"person_update cannot change {', '.join(sorted(unknown))}")
    user = User.objects.select_for_update(no_key=True).get(pk=user_id)
    before = {field: getattr(user, field) for field in changes}
    for field, value in changes.items():
        setattr(user, field, value)
    if "role" in changes:
        Role(user.role)  # an unknown role is a programming error, not a silent viewer
    _derive_flags(user)
    changed = {f: {"from": before[f], "to": getattr(user, f)} for f in changes if before[f] != getattr(user, f)}
    personal = {f: changed.pop(f) for f in PERSONAL if f in changed}
    if not changed and not personal:
        return user
    user.save(update_fields=[*changed, *personal, "is_staff", "is_superuser"])
    revoked = 0
    if changed.get("is_active", {}).get("to") is False:
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_append(
        action="person.changed",
        actor=by,
        system_actor="" if by else "system:accounts",
        obj=user,
        payload={"username": user.username, "changes": changed, "via": via, "tokens_revoked": revoked},
        personal={"changes": personal} if personal else None,
    )
    return user


@transaction.atomic
def person_mfa_reset(*, user_id: int, by: User | None, via: str) -> User:
    """Remove the person's authenticators (they enrol again at next sign-in) and revoke MFA-verified tokens."""
    user = User.objects.select_for_update(no_key=True).get(pk=user_id)
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    revoked = ApiToken.objects.filter(user=user, mfa_verified=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_append(
        action="person.mfa_reset",
        actor=by,
        system_actor="" if by else "system:accounts",
        obj=user,
        payload={"username": user.username, "devices_removed": removed, "tokens_revoked": revoked, "via": via},
    )
    return user
