"""Filters every page may use without loading them: people by name, times relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name

register = template.Library()

JUST_NOW = timedelta(seconds=45)


def human_duration(span: timedelta) -> str:
    """'3 d 4 h', '2 h 5 min', '40 s': two units at most (pages, reasons and evidence all say it so)."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


@register.filter
def person(user: Any) -> str:
    """A person as others know them: the display name, else the username."""
    if user is None or user == "":
        return "—"
    if isinstance(user, User):
        return display_name(user)
    return str(getattr(user, "username", user))


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
    if moment is None or moment == "":
        return "—"
    return relative_to(moment, timezone.now())


@register.filter
def span(value: timedelta | None) -> str:
    """A timedelta in words: '2 h 5 min'."""
    if value is None or value == "":
        return "—"
    return human_duration(value)


@register.filter
def instant(iso: str | None) -> str:
    """An ISO 8601 instant kept as text (a capture's, a certificate's) as the pages write times:
    "2026-12-01 22:18:50"."""
    return str(iso or "")[:19].replace("T", " ")
