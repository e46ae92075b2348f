"""Display filters for the cockpit: people by name, times relative to now, what a step will do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

from inventory.readiness import human_duration

register = template.Library()

JUST_NOW = timedelta(seconds=45)


@register.filter
def person(user: Any) -> str:
    """A person as others know them: the display name, else the username."""
    if user is None:
        return "—"
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or str(getattr(user, "username", user))


def relative_to(moment: datetime, now: datetime) -> str:
    delta = now - moment
    if abs(delta) < JUST_NOW:
        return "just now"
    if delta > timedelta(0):
        return f"{human_duration(delta)} ago"
    return f"in {human_duration(-delta)}"


@register.filter
def relative(moment: datetime | None) -> str:
    """'just now', '4 min ago', 'in 2 h 5 min'."""
    if moment is None:
        return "—"
    return relative_to(moment, timezone.now())


@register.filter
def elapsed(moment: datetime | None) -> str:
    """How long since `moment`, without 'ago': '2 h 5 min'."""
    if moment is None:
        return "—"
    return human_duration(timezone.now() - moment)


@register.filter
def what_happens(step: Any, run: Any) -> str:
    """One sentence on what approving `step` will do."""
    text = str(step.get_kind_display())
    if step.asset is not None:
        text += f" of {step.asset.name}"
    if step.kind == "failover" and step.target_region:
        text += f": serve it from {step.target_region}"
        if run.mode == "drill":
            text += " (drill: check only, production routing untouched)"
    elif step.target_path:
        text += f" into {step.target_path}"
    if step.point is not None:
        text += f", from the point of {step.point.data_as_of:%Y-%m-%d %H:%M} UTC"
    message = (step.params or {}).get("message") or (step.params or {}).get("instructions")
    if message:
        text += f": “{message}”"
    return text


@register.filter
def span(value: timedelta | None) -> str:
    """A timedelta in words: '2 h 5 min'."""
    if value is None:
        return "—"
    return human_duration(value)
