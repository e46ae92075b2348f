"""Who may see and act on incidents; views, the API and tasks all ask here.

Three levels on one incident:
- read: anyone with VIEW_INCIDENTS;
- write (notes, pins, assets, data impact, filings, action items): RESPOND_INCIDENTS,
  or anyone holding a role on *this* incident (a compliance officer assigned as
  liaison files the notifications without being a responder everywhere);
- command (status, roles, review sign-off): COMMAND_INCIDENTS.
"""

from __future__ import annotations

from typing import Any

from dr_portal.accounts.access import (
    NotFoundOrForbidden,
    Perm,
    can,
    check,
    has_role_perm,
    mfa_verified,
    needs_mfa,
    parse_public_id,
)
from incidents.models import ActionItem, GeneratedReport, InboxAlert, Incident, IncidentRole, RoleAssignment

# What an account needs before it may be given an incident role.
ROLE_REQUIRES: dict[str, Perm] = {
    IncidentRole.COMMANDER: Perm.COMMAND_INCIDENTS,
    IncidentRole.DEPUTY: Perm.COMMAND_INCIDENTS,
    IncidentRole.SCRIBE: Perm.RESPOND_INCIDENTS,
    IncidentRole.COMMS: Perm.RESPOND_INCIDENTS,
    IncidentRole.OPS: Perm.RESPOND_INCIDENTS,
    # The DPO reads the compliance reports; that is what the liaison is for.
    IncidentRole.COMPLIANCE: Perm.VIEW_REPORTS,
    # The security officer and counsel judge the breach from its records; the AI-system owner works on the system.
    IncidentRole.SECURITY: Perm.VIEW_REPORTS,
    IncidentRole.LEGAL: Perm.VIEW_REPORTS,
    IncidentRole.AI_OWNER: Perm.RESPOND_INCIDENTS,
}


def holds_role(user: Any, incident: Incident) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return RoleAssignment.objects.filter(incident=incident, user=user, relieved_at__isnull=True).exists()


def _check_mfa(user: Any, perm: Perm) -> None:
    if needs_mfa(user, perm) and not mfa_verified(user):
        check(user, perm)  # raises MfaRequired


def check_write(user: Any, incident: Incident) -> None:
    if has_role_perm(user, Perm.RESPOND_INCIDENTS):
        _check_mfa(user, Perm.RESPOND_INCIDENTS)
        return
    if not holds_role(user, incident):
        raise NotFoundOrForbidden


def can_write(user: Any, incident: Incident) -> bool:
    return can(user, Perm.RESPOND_INCIDENTS) or holds_role(user, incident)


def access_incidents(user: Any, *, for_declare: bool = False) -> None:
    check(user, Perm.VIEW_INCIDENTS)
    if for_declare:
        check(user, Perm.RESPOND_INCIDENTS)


def access_incident_by_id(
    user: Any, incident_id: Any, *, for_write: bool = False, for_command: bool = False
) -> Incident:
    """The incident, if `user` may see it (and write to it, or command it); otherwise a 404."""
    check(user, Perm.VIEW_INCIDENTS)
    if for_command:
        check(user, Perm.COMMAND_INCIDENTS)
    try:
        incident = Incident.objects.get(public_id=parse_public_id(incident_id))
    except Incident.DoesNotExist:
        raise NotFoundOrForbidden from None
    if for_write and not for_command:
        check_write(user, incident)
    return incident


def access_action_item_by_id(user: Any, item_id: Any) -> ActionItem:
    """An action item its owner, or anyone who may write to its incident, may update."""
    check(user, Perm.VIEW_INCIDENTS)
    try:
        item = ActionItem.objects.select_related("incident", "owner").get(public_id=parse_public_id(item_id))
    except ActionItem.DoesNotExist:
        raise NotFoundOrForbidden from None
    if item.owner_id != user.pk:
        check_write(user, item.incident)
    return item


def access_drills(user: Any, *, for_write: bool = False) -> None:
    check(user, Perm.VIEW_INCIDENTS)
    if for_write:
        check(user, Perm.COMMAND_INCIDENTS)


def access_reports(user: Any) -> None:
    """The Reports page, the list and requesting a readiness report: compliance officers and admins."""
    check(user, Perm.VIEW_REPORTS)


def access_report_by_id(user: Any, report_id: Any) -> GeneratedReport:
    """A generated report, if `user` may read reports and see its incident; otherwise a 404.

    A report on an incident the person may not see answers exactly as one that does not exist.
    """
    check(user, Perm.VIEW_REPORTS)
    try:
        report = GeneratedReport.objects.select_related("incident", "requested_by").get(
            public_id=parse_public_id(report_id)
        )
    except GeneratedReport.DoesNotExist:
        raise NotFoundOrForbidden from None
    if report.incident is not None:
        access_incident_by_id(user, report.incident.public_id)
    return report


def access_inbox(user: Any) -> None:
    """The alert inbox is for those who command incidents: they decide what an unplaced alert is about."""
    check(user, Perm.COMMAND_INCIDENTS)


def access_inbox_alert_by_id(user: Any, alert_id: Any, *, for_write: bool = False) -> InboxAlert:
    """An inbox alert, if `user` may handle the inbox (reading and acting need the same); otherwise a 404."""
    access_inbox(user)
    try:
        return InboxAlert.objects.get(public_id=parse_public_id(alert_id))
    except InboxAlert.DoesNotExist:
        raise NotFoundOrForbidden from None
