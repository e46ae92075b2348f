"""Reads about people and their tokens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, OrganisationProfile, ProcessorRelationship, User
from dr_portal.accounts.services import token_digest


def user_confirmed_totp(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def token_active_by_raw(*, raw: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token


def token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now(), password_stamp=user.password_stamp
    )


def otp_refusal(why: dict[str, Any] | None) -> str:
    """Words for django-otp's refusal to check a code (too many wrong ones)."""
    until = (why or {}).get("locked_until")
    if until is not None:
        return f"Too many wrong codes; try again after {until:%H:%M:%S} UTC."
    return "Too many wrong codes; try again shortly."


def users_active() -> list[User]:
    """Active accounts by role, then username: the access review's population."""
    return list(User.objects.filter(is_active=True).order_by("role", "username"))


def user_ids_with_mfa() -> set[int]:
    """The pks of users with a confirmed TOTP device."""
    return set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))


# --- the organisation ------------------------------------------------------------------


def organisation_profile() -> OrganisationProfile:
    """The stored profile, or a blank unsaved one before anybody filled it in (everything "not recorded")."""
    return OrganisationProfile.objects.select_related("updated_by").filter(id=1).first() or OrganisationProfile()


def processor_relationships() -> list[ProcessorRelationship]:
    return list(ProcessorRelationship.objects.order_by("kind", "name"))


def processor_relationship_by_id(*, relationship_id: str) -> ProcessorRelationship | None:
    return ProcessorRelationship.objects.filter(public_id=relationship_id).first()
