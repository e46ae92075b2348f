"""Small display filters for run pages: durations, rates, state colours."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.template.defaultfilters import filesizeformat

from dr_portal.accounts.models import Role
from inventory.readiness import human_duration

register = template.Library()

TONES = {
    "succeeded": "status-ok",
    "running": "status-risk",
    "queued": "status-none",
    "pending": "status-none",
    "verifying": "status-risk",
    "waiting_approval": "status-risk",
    "approved": "status-ok",
    "failed": "status-bad",
    "partially_failed": "status-bad",
    "rejected": "status-bad",
    "expired": "status-bad",
    "cancelled": "status-none",
    "skipped": "status-none",
}


@register.filter
def duration(value: float | int | timedelta | None) -> str:
    if value is None:
        return "—"
    span = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    return human_duration(span)


@register.filter
def rate(value: float | None) -> str:
    if not value:
        return ""
    return f"{filesizeformat(int(value))}/s"


@register.filter
def tone(state: str) -> str:
    return TONES.get(state, "status-none")


@register.filter
def role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role
