"""Template filters for incident pages: timeline entries in words, and countdowns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

from incidents.clocks import Clock, ClockState
from incidents.models import IncidentRole, IncidentStatus, Regime
from incidents.selectors import TIMELINE_KINDS, timeline_kind_of
from inventory.readiness import human_duration

register = template.Library()


def _role(value: Any) -> str:
    return str(IncidentRole(value).label) if value in IncidentRole.values else str(value)


def _regime(value: Any) -> str:
    return str(Regime(value).label) if value in Regime.values else str(value)


def _status(value: Any) -> str:
    return str(IncidentStatus(value).label).lower() if value in IncidentStatus.values else str(value)


_TEXT: dict[str, Any] = {
    "incident.declared": lambda p: f"Declared {p.get('severity')}: {p.get('title')} ({p.get('severity_rule', '')})",
    "incident.status_changed": lambda p: (
        f"Status {_status(p.get('from'))} → {_status(p.get('to'))}" + (f": {p['reason']}" if p.get("reason") else "")
    ),
    "incident.severity_changed": lambda p: f"Severity {p.get('from')} → {p.get('to')}: {p.get('rule')}",
    "incident.role_assigned": lambda p: (
        f"{p.get('user')} is now {_role(p.get('role'))}"
        + (f" (relieving {p['relieved']})" if p.get("relieved") else "")
    ),
    "incident.role_relieved": lambda p: f"{p.get('user')} relieved as {_role(p.get('role'))}",
    "incident.note_added": lambda p: p.get("body", ""),
    "incident.entry_pinned": lambda p: f"Pinned #{p.get('seq')}",
    "incident.entry_unpinned": lambda p: f"Unpinned #{p.get('seq')}",
    "incident.assets_added": lambda p: f"Affected assets added: {', '.join(p.get('assets', []))}",
    "incident.facts_updated": lambda p: (
        "Recorded "
        + ", ".join(
            f"{k.replace('_', ' ')} = {v[1] if v[1] not in (None, '') else '—'}"
            for k, v in p.get("changed", {}).items()
        )
    ),
    "incident.filing_recorded": lambda p: (
        f"Filed {_regime(p.get('regime'))} ({p.get('phase')}) with {p.get('recipient')}"
        + (f", ref. {p['reference']}" if p.get("reference") else "")
        + (" — late" if p.get("late") else "")
    ),
    "incident.delay_reason_recorded": lambda p: f"Reason for delay ({_regime(p.get('regime'))}): {p.get('reason')}",
    "deadline.near": lambda p: f"{p.get('clock')} deadline due soon ({p.get('due_at', '')[:16].replace('T', ' ')} UTC)",
    "deadline.missed": lambda p: f"{p.get('clock')} deadline missed ({p.get('due_at', '')[:16].replace('T', ' ')} UTC)",
    "alert.firing": lambda p: (
        f"Alert firing: {p.get('name')}"
        + (f" — {p['summary']}" if p.get("summary") else "")
        + (f" [{', '.join(p['assets'])}]" if p.get("assets") else "")
    ),
    "alert.refiring": lambda p: f"Alert firing again: {p.get('name')}",
    "alert.resolved": lambda p: f"Alert resolved: {p.get('name')}",
    "action_item.added": lambda p: (
        f"Action item{' (critical)' if p.get('critical') else ''}: {p.get('title')}, owner {p.get('owner')}"
    ),
    "action_item.status_changed": lambda p: f"Action item {p.get('title')}: {p.get('from')} → {p.get('to')}",
    "review.updated": lambda p: f"Review updated: {', '.join(k.replace('_', ' ') for k in p)}",
    "review.signed_off": lambda p: "Review signed off",
    "drill.outcome_recorded": lambda p: f"Drill of {p.get('asset')}: {p.get('outcome')} — {p.get('evidence')}",
    "delivery.sent": lambda p: (
        f"Sent {p.get('event', '').replace('_', ' ')} {p.get('channel')} to {', '.join(p.get('recipients', []))}"
    ),
    "page.severity_changed": lambda p: (
        f"Severity {p.get('from')} → {p.get('to')}: paging the {p.get('to')} on-call of {p.get('team') or 'no team'}"
    ),
    "page.severity_not_paged": lambda p: f"Severity {p.get('from')} → {p.get('to')}: {p.get('why')}",
    "page.escalated": lambda p: f"Page escalated to level {p.get('level')}" + (" by hand" if p.get("manual") else ""),
    "page.notified": lambda p: f"Paged {', '.join(p.get('people', []))} (level {p.get('level')}): {p.get('why')}",
    "page.nobody_to_notify": lambda p: p.get("problem", "Nobody to page"),
    "delivery.failed": lambda p: (
        f"Could not send {p.get('event', '').replace('_', ' ')} {p.get('channel')} "
        f"after {p.get('attempts')} attempts: {p.get('error')}"
    ),
}


def describe_payload(action: str, payload: dict[str, Any]) -> str:
    """An event in words, from its action and a payload (the timeline may pass one with names filled in)."""
    render = _TEXT.get(action)
    if render is None:
        return action.replace("_", " ").replace(".", ": ")
    try:
        return str(render(payload or {}))
    except (KeyError, TypeError, ValueError, AttributeError):
        return action


@register.filter
def describe(event: Any) -> str:
    return describe_payload(event.action, event.payload)


@register.filter
def entry_kind(event: Any) -> str:
    return timeline_kind_of(event.action)


@register.filter
def entry_kind_label(event: Any) -> str:
    kind = timeline_kind_of(event.action)
    return TIMELINE_KINDS[kind][0] if kind in TIMELINE_KINDS else "Other"


@register.filter
def countdown(clock: Clock) -> str:
    if clock.state == ClockState.WAITING:
        return "not started"
    if clock.state == ClockState.MET:
        return "filed in time"
    if clock.state == ClockState.LATE:
        return "filed late"
    remaining = clock.remaining or timedelta(0)
    if remaining < timedelta(0):
        return f"overdue by {human_duration(-remaining)}"
    if remaining == timedelta(0):
        return "due now"
    return f"due in {human_duration(remaining)}"
