"""The access layer: the one place that decides who may see and do what.

Views, the API and tasks call `check()` (or an `access_<entity>_by_id`
built on it). A denied read looks exactly like a missing object, so the
answer never tells an outsider that something exists.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from django.http import Http404

from dr_portal.accounts.models import Role


class Perm(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_INVENTORY = "view_inventory"
    MANAGE_INVENTORY = "manage_inventory"
    RUN_BACKUPS = "run_backups"
    VIEW_INCIDENTS = "view_incidents"
    RESPOND_INCIDENTS = "respond_incidents"
    COMMAND_INCIDENTS = "command_incidents"
    VIEW_APPROVALS = "view_approvals"
    # A point's file names and digests: the roles that may restore (start a run, or
    # approve and act on its restore steps).
    VIEW_POINT_CONTENTS = "view_point_contents"
    APPROVE_STEPS = "approve_steps"
    VIEW_REPORTS = "view_reports"
    VIEW_AUDIT = "view_audit"
    REDACT_AUDIT = "redact_audit"
    MANAGE_PEOPLE = "manage_people"
    MANAGE_ORGANISATION = "manage_organisation"


_EVERYONE = {Perm.VIEW_DASHBOARD, Perm.VIEW_INVENTORY, Perm.VIEW_INCIDENTS}

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.INCIDENT_COMMANDER: frozenset(
        _EVERYONE
        | {
            Perm.RUN_BACKUPS,
            Perm.RESPOND_INCIDENTS,
            Perm.COMMAND_INCIDENTS,
            Perm.VIEW_APPROVALS,
            Perm.APPROVE_STEPS,
            Perm.VIEW_POINT_CONTENTS,
        }
    ),
    Role.ONCALL_ENGINEER: frozenset(
        _EVERYONE
        | {
            Perm.RUN_BACKUPS,
            Perm.RESPOND_INCIDENTS,
            Perm.VIEW_APPROVALS,
            Perm.APPROVE_STEPS,
            Perm.VIEW_POINT_CONTENTS,
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset(_EVERYONE | {Perm.VIEW_REPORTS, Perm.VIEW_AUDIT}),
    Role.VIEWER: frozenset(_EVERYONE),
}

# Approving a step changes production; it needs a second factor whoever does it.
MFA_PERMS: frozenset[Perm] = frozenset({Perm.APPROVE_STEPS})
# Admins can change everything, so every admin action needs a second factor.
MFA_ROLES: frozenset[str] = frozenset({Role.ADMIN})


class NotFoundOrForbidden(Http404):
    """Raised for a denied read or write; rendered exactly as a 404."""


class RoleRequired(NotFoundOrForbidden):
    """The person's role lacks `perm`. A page says which roles have it (403); the API still answers 404.

    Raised only by `check()`, before any object is looked up, so the answer is the same whether or
    not the object in the URL exists: it tells nothing an outsider could not read in the docs.
    """

    def __init__(self, perm: Perm) -> None:
        super().__init__(perm.value)
        self.perm = perm

    @property
    def roles(self) -> list[str]:
        """The labels of the roles that have the permission, in the order roles are listed."""
        return [label for value, label in Role.choices if self.perm in ROLE_PERMS.get(value, frozenset())]


class MalformedId(NotFoundOrForbidden):
    """An id that cannot name anything (not a UUID): a 404 on a page, a 400 from the API."""


def parse_public_id(value: Any) -> uuid.UUID:
    """`value` as a UUID, or MalformedId."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise MalformedId from None


class MfaRequired(Exception):
    """The person may do this, but only after proving a second factor."""


def has_role_perm(user: Any, perm: Perm) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return perm in ROLE_PERMS.get(user.role, frozenset())


def needs_mfa(user: Any, perm: Perm) -> bool:
    return perm in MFA_PERMS or user.role in MFA_ROLES


def mfa_verified(user: Any) -> bool:
    # django-otp's middleware (sessions) or our token authentication (API)
    # attach is_verified(); a user object from anywhere else has no factor.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def can(user: Any, perm: Perm) -> bool:
    """True when `check` would pass; for showing or hiding links and buttons."""
    return has_role_perm(user, perm) and (not needs_mfa(user, perm) or mfa_verified(user))


def check(user: Any, perm: Perm) -> None:
    """Raise unless `user` may exercise `perm` right now."""
    if not has_role_perm(user, perm):
        raise RoleRequired(perm)
    if needs_mfa(user, perm) and not mfa_verified(user):
        raise MfaRequired
