"""Paging after the fact: a severity change pages the new severity's on-call; "Escalate now" moves a page up a level."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import Incident
from incidents.paging.models import EscalationPolicy, Page, PageStatus
from incidents.paging.services import SYSTEM, PageRefused, _levels, _notify_level, incident_team
from incidents.services.common import record


def _raised(previous: str, severity: str) -> bool:
    return severity < previous  # SEV1 is the most severe


@transaction.atomic
def page_severity_changed(*, incident: Incident, previous: str, now: datetime | None = None) -> Page | None:
    """Page the on-call of the new severity's policy, from its first level, and say so on the timeline.

    An open page moves to the new policy; without one a new page opens. Lowering the severity after
    someone acknowledged re-pages nobody (they already have it); that is recorded too.
    """
    now = now or timezone.now()
    locked = Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)
    severity = locked.severity
    if not locked.is_open or severity == previous:
        return None
    change = {"from": previous, "to": severity}
    policy = EscalationPolicy.objects.filter(severity=severity).first()
    if policy is None:
        record(
            locked,
            "page.severity_not_paged",
            by=None,
            system_actor=SYSTEM,
            payload={**change, "why": f"No escalation policy for {severity}; nobody was paged."},
        )
        return None
    page = Page.objects.select_for_update(no_key=True).filter(incident=locked, status=PageStatus.TRIGGERED).first()
    if page is None:
        acknowledged = Page.objects.filter(incident=locked, status=PageStatus.ACKNOWLEDGED).exists()
        if acknowledged and not _raised(previous, severity):
            record(
                locked,
                "page.severity_not_paged",
                by=None,
                system_actor=SYSTEM,
                payload={**change, "why": "Severity lowered and the page is already acknowledged."},
            )
            return None
        page = Page.objects.create(incident=locked, policy=policy, team=incident_team(locked), level_started_at=now)
    else:
        page.policy, page.level, page.level_started_at = policy, 1, now
        page.save(update_fields=["policy", "level", "level_started_at"])
    page.incident = locked
    record(
        locked,
        "page.severity_changed",
        by=None,
        system_actor=SYSTEM,
        obj=page,
        payload={**change, "team": page.team, "level": page.level},
    )
    _notify_level(page, now=now, event="page_severity_changed", why=f"severity changed {previous} → {severity}")
    return page


@transaction.atomic
def page_escalate_now(*, page: Page, by: User, now: datetime | None = None) -> Page:
    """Someone will not wait for the timer: notify the next level at once. Refused when there is none."""
    now = now or timezone.now()
    locked = (
        Page.objects.select_for_update(of=("self",), no_key=True).select_related("incident", "policy").get(pk=page.pk)
    )
    if locked.status != PageStatus.TRIGGERED:
        raise PageRefused(
            f"This page is {locked.get_status_display().lower()}; escalation has stopped. "
            "Page again by changing the severity, or assign a role on the incident."
        )
    levels = _levels(locked.policy) if locked.policy is not None else []
    if locked.level >= len(levels):
        raise PageRefused(
            f"Level {locked.level} is the last level of the {locked.incident.severity} escalation policy; "
            "there is nobody further to escalate to."
        )
    locked.level += 1
    locked.level_started_at = now
    locked.save(update_fields=["level", "level_started_at"])
    record(locked.incident, "page.escalated", by=by, obj=locked, payload={"level": locked.level, "manual": True})
    _notify_level(locked, now=now, event="page_escalated", why=f"escalated by hand to level {locked.level}")
    return locked
