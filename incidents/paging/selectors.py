"""Reads for the paging page: open pages, who is on call per team, policy warnings, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import Delivery
from incidents.paging.models import EscalationPolicy, Page, PageStatus, Schedule
from incidents.paging.schedules import PolicyProblem, oncall_at, policy_problems


@dataclass(frozen=True)
class ScheduleNow:
    schedule: Schedule
    oncall: User | None


@dataclass(frozen=True)
class PolicyView:
    policy: EscalationPolicy
    problems: list[PolicyProblem]


def pages_open() -> list[Page]:
    return list(Page.objects.filter(status=PageStatus.TRIGGERED).select_related("incident").order_by("created_at"))


def pages_recent(*, limit: int = 20) -> list[Page]:
    return list(Page.objects.select_related("incident", "acknowledged_by").order_by("-created_at")[:limit])


def schedules_now(*, at: datetime | None = None) -> list[ScheduleNow]:
    at = at or timezone.now()
    schedules = Schedule.objects.prefetch_related("layers", "overrides__user").order_by("team")
    return [ScheduleNow(schedule=s, oncall=oncall_at(schedule=s, at=at)) for s in schedules]


def policies_checked() -> list[PolicyView]:
    policies = EscalationPolicy.objects.prefetch_related("levels__schedule", "levels__user").order_by("severity")
    return [PolicyView(policy=p, problems=policy_problems(policy=p)) for p in policies]


def people_by_id(ids: list[int]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=ids)}


def delivery_log(*, incident_id: int | None = None, limit: int = 100) -> QuerySet[Delivery]:
    rows = Delivery.objects.select_related("incident").order_by("-created_at")
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    return rows[:limit]
