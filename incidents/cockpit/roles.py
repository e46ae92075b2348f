"""The role picker offers only eligible people: each person with the incident roles their account allows."""

from __future__ import annotations

from dataclasses import dataclass

from dr_portal.accounts.access import has_role_perm
from dr_portal.accounts.models import User
from incidents.access import ROLE_REQUIRES


@dataclass(frozen=True)
class Candidate:
    user: User
    roles: list[str]  # incident roles this person may hold

    @property
    def roles_text(self) -> str:
        return " ".join(self.roles)


def role_candidates() -> list[Candidate]:
    """Active people who may hold at least one incident role, by display name."""
    people = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    found = []
    for person in people:
        roles = [role for role, perm in ROLE_REQUIRES.items() if has_role_perm(person, perm)]
        if roles:
            found.append(Candidate(user=person, roles=[str(r) for r in roles]))
    return found


def first_eligible(candidates: list[Candidate], role: str) -> int | None:
    """The person the picker starts on for `role`: the first who may hold it (never someone who may not)."""
    return next((c.user.pk for c in candidates if role in c.roles), None)
