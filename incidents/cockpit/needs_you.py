"""Reads for "Needs you now": the approval requests a person could decide right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from dr_portal.accounts.access import Perm, has_role_perm
from dr_portal.accounts.models import Role, User
from incidents.models import Incident
from incidents.runs.models import Approval, StepRun
from incidents.runs.selectors import PendingApproval, approvals_pending


@dataclass(frozen=True)
class NeedsYou:
    """One waiting step with the incident it belongs to, as the dashboard shows it."""

    item: PendingApproval
    incident: Incident | None

    @property
    def step(self) -> StepRun:
        return self.item.step

    @property
    def approved(self) -> int:
        return len(self.item.approvers)

    @property
    def expires_at(self) -> datetime | None:
        return self.item.expires_at

    @property
    def needs_code(self) -> bool:
        return "second factor" in self.item.blocked


def _decidable(user: User) -> Q:
    """Waiting steps `user`'s role may decide, not asked for by them, not yet decided by them this round."""
    mine = Approval.objects.filter(step=OuterRef("pk"), approver=user, round=OuterRef("approval_round"))
    condition: Q = Q(state="waiting_approval") & ~Q(approval_requested_by=user) & ~Q(Exists(mine))
    if user.role != Role.ADMIN:
        condition = condition & Q(approval_role=user.role)
    return condition


def needs_you_count(*, user: User) -> int:
    """How many approval requests wait for this person: the nav badge and the page title."""
    if not has_role_perm(user, Perm.APPROVE_STEPS):
        return 0
    return StepRun.objects.filter(_decidable(user)).exclude(changed_by=user).count()


def needs_you(*, user: User) -> list[NeedsYou]:
    """The requests this person could decide (perhaps after a code), oldest request first."""
    if not has_role_perm(user, Perm.APPROVE_STEPS):
        return []
    items = [
        item
        for item in approvals_pending(user=user)
        if item.mine is None and (not item.blocked or "second factor" in item.blocked)
    ]
    ids = {item.run.incident_id for item in items if item.run.incident_id}
    incidents = {i.pk: i for i in Incident.objects.filter(pk__in=ids)}
    return [NeedsYou(item=item, incident=incidents.get(item.run.incident_id or 0)) for item in items]
