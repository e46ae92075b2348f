"""Small display filters for run pages: durations, rates, state colours."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat

from dr_portal.accounts.models import Role
from inventory.connectors.ledger import brief as ledger_brief
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


@register.filter
def ledger_lines(items: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    """A restore ledger as the removed / kept (with why) / left lines its clean-up block shows: one line
    per group member, a kind with many entries counted."""
    return ledger_brief(items or [])


@register.simple_tag
def unrecorded_cleanup(step: Any, run: Any) -> str:
    """For a drill restore step with no complete record of what it created: what clean-up left and what to check."""
    from incidents.runs.services.connector_steps import unrecorded_note

    return unrecorded_note(step, cleaned=run.cleaned_at is not None)


@register.filter
def check_value(value: Any) -> str:
    """A connector check's expected or found value, short enough for a table cell."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


@register.filter
def param(value: Any) -> str:
    """A plan step's parameter as a person reads it: yes/no, not Python's True/False; lists and
    mappings spelled out ("path: …, replace: yes"), never as Python or JSON literals."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {param(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(param(v) for v in value) or "—"
    return str(value)


@register.filter
def elapsed(value: timedelta | None) -> str:
    """A running phase's clock to the second under an hour ("1 min 35 s"), so each poll moves it."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds >= 3600:
        return human_duration(value)
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
