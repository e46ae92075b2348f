"""Who may see and act on runs, steps and plans; views, the API and tasks all ask here."""

from __future__ import annotations

from typing import Any

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, check, parse_public_id
from incidents.runs.models import RecoveryRun, StepRun


def access_runs(user: Any, *, for_write: bool = False) -> None:
    check(user, Perm.VIEW_INCIDENTS)
    if for_write:
        check(user, Perm.COMMAND_INCIDENTS)


def access_run_by_id(user: Any, run_id: Any, *, for_write: bool = False) -> RecoveryRun:
    """The run if `user` may see it (and command it: start, cancel, skip, retry); otherwise a 404."""
    access_runs(user, for_write=for_write)
    try:
        return RecoveryRun.objects.select_related("plan", "requested_by", "incident").get(
            public_id=parse_public_id(run_id)
        )
    except RecoveryRun.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_step_by_id(user: Any, step_id: Any, *, perm: Perm = Perm.VIEW_INCIDENTS) -> StepRun:
    """The step if `user` may see it and exercise `perm` on it (APPROVE_STEPS also demands MFA)."""
    check(user, Perm.VIEW_INCIDENTS)
    check(user, perm)
    try:
        return StepRun.objects.select_related("run", "asset", "point").get(public_id=parse_public_id(step_id))
    except StepRun.DoesNotExist:
        raise NotFoundOrForbidden from None


def access_approvals(user: Any) -> None:
    check(user, Perm.VIEW_APPROVALS)
