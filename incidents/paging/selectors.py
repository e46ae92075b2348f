"""Reads for the paging page: open pages, who is on call per team, policy warnings, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from incidents.models import Delivery
from incidents.paging.models import EscalationPolicy, Layer, Page, PageStatus, Schedule
from incidents.paging.schedules import PolicyProblem, oncall_at, policy_problems


@dataclass(frozen=True)
class ScheduleNow:
    schedule: Schedule
    oncall: User | None
    layers: list[tuple[Layer, str]]  # (layer, "weekly: Oli Tan → Olga Berg, 168 h shifts from 2026-11-30 20:00 UTC")


@dataclass(frozen=True)
class PolicyView:
    policy: EscalationPolicy
    problems: list[PolicyProblem]


def pages_open() -> list[Page]:
    return list(Page.objects.filter(status=PageStatus.TRIGGERED).select_related("incident").order_by("created_at"))


def pages_recent(*, limit: int = 20) -> list[Page]:
    return list(Page.objects.select_related("incident", "acknowledged_by").order_by("-created_at")[:limit])


def _layer_line(layer: Layer, names: dict[int, str]) -> str:
    people = " → ".join(names.get(int(m), f"person #{m}") for m in layer.members)
    until = f" until {layer.ends_at:%Y-%m-%d %H:%M}" if layer.ends_at else ""
    return f"{layer.name}: {people}, {layer.shift_hours} h shifts from {layer.starts_at:%Y-%m-%d %H:%M}{until} UTC"


def schedules_now(*, at: datetime | None = None) -> list[ScheduleNow]:
    at = at or timezone.now()
    schedules = list(Schedule.objects.prefetch_related("layers", "overrides__user").order_by("team"))
    ids = {int(m) for s in schedules for layer in s.layers.all() for m in layer.members}
    names = {u.pk: display_name(u) for u in User.objects.filter(pk__in=ids)}
    return [
        ScheduleNow(
            schedule=s,
            oncall=oncall_at(schedule=s, at=at),
            layers=[(layer, _layer_line(layer, names)) for layer in s.layers.all()],
        )
        for s in schedules
    ]


def policies_checked() -> list[PolicyView]:
    policies = EscalationPolicy.objects.prefetch_related("levels__schedule", "levels__user").order_by("severity")
    return [PolicyView(policy=p, problems=policy_problems(policy=p)) for p in policies]


def known_teams() -> list[str]:
    """Owner teams named on assets, for the schedule form's suggestions."""
    from inventory.models import Asset

    return list(
        Asset.objects.exclude(owner_team="").order_by("owner_team").values_list("owner_team", flat=True).distinct()
    )


def people_by_id(ids: list[int]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=ids)}


def delivery_log(*, incident_id: int | None = None, limit: int = 100) -> QuerySet[Delivery]:
    rows = Delivery.objects.select_related("incident").order_by("-created_at")
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    return rows[:limit]
