"""Paging: open a page for an incident, notify the on-call, acknowledge it, escalate or re-notify on beat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from dr_portal.errors import Refused
from dr_portal.queue import send_on_commit
from incidents.models import OPEN_STATUSES, Delivery, DeliveryChannel, Incident
from incidents.paging.links import ack_url
from incidents.paging.models import EscalationLevel, EscalationPolicy, Page, PageStatus, Schedule
from incidents.paging.schedules import oncall_at, policy_chain
from incidents.services.common import record
from incidents.services.outbound import incident_summary

SYSTEM = "system:paging"


class PageRefused(Refused):
    code = "page_refused"


def incident_team(incident: Incident) -> str:
    """The team that owns the most critical affected asset, else the first schedule's team."""
    teams = list(incident.assets.order_by("tier", "name").values_list("owner_team", flat=True))
    have = set(Schedule.objects.values_list("team", flat=True))
    for team in teams:
        if team in have:
            return team
    return teams[0] if teams else ""


def _levels(policy: EscalationPolicy) -> list[EscalationLevel]:
    """Every level, following hand-overs to other policies (a loop was refused when it was made)."""
    chain = policy_chain(policy)
    levels: list[EscalationLevel] = []
    for p in chain:
        levels.extend(
            lv for lv in p.levels.select_related("schedule", "user").order_by("position") if lv.then_policy_id is None
        )
    return levels


def _targets(level: EscalationLevel, team_schedule: Schedule | None, at: datetime) -> list[User]:
    if level.user is not None:
        return [level.user] if level.user.is_active else []
    schedule = level.schedule or team_schedule
    person = oncall_at(schedule=schedule, at=at) if schedule is not None else None
    return [person] if person is not None else []


def _deliver(page: Page, people: list[User], *, event: str, why: str) -> None:
    """One email per person (each with their own acknowledgement link) and one webhook per receiver."""
    from incidents.tasks import delivery_send

    incident = page.incident
    summary = incident_summary(incident)
    base: dict[str, Any] = {
        "event": event,
        "incident": summary,
        "page": {
            "id": str(page.public_id),
            "level": page.level,
            "team": page.team,
            "notifications": page.notifications,
            "why": why,
            "page_url": settings.SITE_URL.rstrip("/") + f"/paging/pages/{page.public_id}/",
        },
    }
    subject = f"[{incident.severity}] {incident.reference} {incident.title}: you are paged"[:200]
    for person in people:
        if not person.email:
            continue
        payload = {
            **base,
            "to": display_name(person),
            "ack_url": ack_url(page_id=str(page.public_id), user_id=person.pk),
        }
        delivery = Delivery.objects.create(
            incident=incident,
            event=event,
            channel=DeliveryChannel.EMAIL,
            recipients=[person.email],
            subject=subject,
            payload=payload,
        )
        send_on_commit(delivery_send, args=(delivery.pk,))
    for url in settings.OUTBOUND_WEBHOOK_URLS:
        payload = {**base, "paged": [p.username for p in people], "paged_names": [display_name(p) for p in people]}
        delivery = Delivery.objects.create(
            incident=incident,
            event=event,
            channel=DeliveryChannel.WEBHOOK,
            recipients=[url],
            subject=subject,
            payload=payload,
        )
        send_on_commit(delivery_send, args=(delivery.pk,))


def _notify_level(page: Page, *, now: datetime, event: str, why: str) -> None:
    policy = page.policy
    levels = _levels(policy) if policy is not None else []
    level = levels[min(page.level, len(levels)) - 1] if levels else None
    schedule = Schedule.objects.filter(team=page.team).prefetch_related("layers", "overrides__user").first()
    people = _targets(level, schedule, now) if level is not None else []
    if not people and schedule is not None and level is None:
        person = oncall_at(schedule=schedule, at=now)
        people = [person] if person else []
    page.notified = [p.pk for p in people]
    page.notifications += 1
    if not people:
        page.problem = (
            f"Nobody to notify at level {page.level}"
            + (f": nobody is on call in {schedule.name}" if schedule else f": team {page.team or '—'} has no schedule")
            + ". Fix the schedule or the escalation policy."
        )
    else:
        page.problem = ""
    wait = level.wait_minutes if level is not None else (policy.repeat_minutes if policy else 5)
    page.next_notify_at = now + timedelta(minutes=wait)
    page.save(update_fields=["notified", "notifications", "problem", "next_notify_at", "level"])
    record(
        page.incident,
        "page.notified" if people else "page.nobody_to_notify",
        by=None,
        system_actor=SYSTEM,
        obj=page,
        # Ids let the timeline show each person's name as it is now; the names as they were and the
        # usernames are personal data, kept erasable (an erasure request finds the event by username).
        payload={"level": page.level, "person_ids": [p.pk for p in people], "why": why, "problem": page.problem},
        personal={"people": [display_name(p) for p in people], "usernames": [p.username for p in people]},
    )
    _deliver(page, people, event=event, why=why)


@transaction.atomic
def page_open(*, incident: Incident, now: datetime | None = None) -> Page | None:
    """Page the on-call for `incident` if its severity has a policy and no page is open; safe to call twice."""
    now = now or timezone.now()
    locked = Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)
    if not locked.is_open or Page.objects.filter(incident=locked, status=PageStatus.TRIGGERED).exists():
        return None
    policy = EscalationPolicy.objects.filter(severity=locked.severity).first()
    if policy is None:
        return None
    if Page.objects.filter(incident=locked).exists():
        return None  # paged once already (acknowledged or resolved): a severity change escalates instead
    page = Page.objects.create(incident=locked, policy=policy, team=incident_team(locked), level_started_at=now)
    record(
        locked,
        "page.triggered",
        by=None,
        system_actor=SYSTEM,
        obj=page,
        payload={"team": page.team, "severity": locked.severity},
    )
    _notify_level(page, now=now, event="page", why=f"{locked.severity} declared")
    return page


@transaction.atomic
def page_acknowledge(*, page: Page, by: User, via: str) -> Page:
    """Stop escalation: `by` has it. Refused if someone already acknowledged (or it was resolved)."""
    locked = (
        Page.objects.select_for_update(of=("self",), no_key=True)
        .select_related("incident", "acknowledged_by")
        .get(pk=page.pk)
    )
    if locked.status == PageStatus.ACKNOWLEDGED:
        who = locked.acknowledged_by.get_full_name() if locked.acknowledged_by else "someone"
        raise PageRefused(
            f"Already acknowledged by {who} at {locked.acknowledged_at:%Y-%m-%d %H:%M} UTC ({locked.acknowledged_via})."
        )
    if locked.status == PageStatus.RESOLVED:
        raise PageRefused("This page is closed: the incident is no longer open.")
    locked.status = PageStatus.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = by
    locked.acknowledged_via = via
    locked.next_notify_at = None
    locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "acknowledged_via", "next_notify_at"])
    record(locked.incident, "page.acknowledged", by=by, obj=locked, payload={"via": via, "level": locked.level})
    return locked


def _due(now: datetime) -> list[int]:
    return list(
        Page.objects.filter(status=PageStatus.TRIGGERED, next_notify_at__lte=now).values_list("pk", flat=True)[:200]
    )


def pages_escalate(*, now: datetime | None = None) -> list[str]:
    """Beat: escalate unacknowledged pages whose level timed out (or re-notify the last level); open missing pages."""
    now = now or timezone.now()
    done: list[str] = []
    for page_id in _due(now):
        with transaction.atomic():
            page = (
                Page.objects.select_for_update(of=("self",), no_key=True)
                .select_related("incident", "policy")
                .get(pk=page_id)
            )
            if page.status != PageStatus.TRIGGERED or page.next_notify_at is None or page.next_notify_at > now:
                continue
            if not page.incident.is_open:
                page.status = PageStatus.RESOLVED
                page.next_notify_at = None
                page.save(update_fields=["status", "next_notify_at"])
                continue
            levels = _levels(page.policy) if page.policy else []
            if page.level < len(levels):
                page.level += 1
                page.level_started_at = now
                page.save(update_fields=["level", "level_started_at"])
                record(
                    page.incident,
                    "page.escalated",
                    by=None,
                    system_actor=SYSTEM,
                    obj=page,
                    payload={"level": page.level},
                )
                _notify_level(
                    page, now=now, event="page_escalated", why=f"not acknowledged; escalated to level {page.level}"
                )
            else:
                _notify_level(page, now=now, event="page_repeated", why="still not acknowledged")
            done.append(str(page.public_id))
    for incident in Incident.objects.filter(status__in=OPEN_STATUSES, pages__isnull=True)[:50]:
        if page_open(incident=incident, now=now) is not None:
            done.append(f"opened for {incident.reference}")
    return done


@transaction.atomic
def delivery_replay(*, delivery: Delivery, by: User) -> Delivery:
    """Send a delivery again (a receiver lost it, or a failure is fixed): reset it and queue it on commit."""
    from incidents.tasks import delivery_send

    locked = Delivery.objects.select_for_update(no_key=True).get(pk=delivery.pk)
    was = locked.status
    locked.status = "pending"
    locked.attempts = 0
    locked.last_error = ""
    locked.next_attempt_at = timezone.now()
    locked.finished_at = None
    locked.save(update_fields=["status", "attempts", "last_error", "next_attempt_at", "finished_at"])
    if locked.incident is not None:
        record(
            locked.incident,
            "delivery.replayed",
            by=by,
            obj=locked,
            payload={"event": locked.event, "channel": locked.channel, "was": was},
        )
    send_on_commit(delivery_send, args=(locked.pk,))
    return locked
