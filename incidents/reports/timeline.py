"""The incident's timeline in the report: its audit events, a one-line summary of each, and the event holding a fact."""

from __future__ import annotations

from dr_portal.audit.models import AuditEvent
from dr_portal.pdf.document import EventRef, Field, Section


def event_summary(event: AuditEvent) -> str:
    """What the timeline row says about the event: the move, the change, the note."""
    p = event.payload
    action = event.action
    if action == "incident.status_changed":
        text = f"{p.get('from')} → {p.get('to')}"
        return f"{text}: {p['reason']}" if p.get("reason") else text
    if action == "incident.facts_updated":
        return "changed " + ", ".join(sorted(p.get("changed", {})))
    if action in ("incident.role_assigned", "incident.role_relieved"):
        return f"{p.get('role')}: {p.get('user', '')}"
    if action == "incident.severity_changed":
        return f"{p.get('from')} → {p.get('to')} ({p.get('rule', '')})"
    if action == "incident.filing_recorded":
        return f"{p.get('regime')} {p.get('phase')} to {p.get('recipient')}"
    if action == "incident.notification_recorded":
        return f"{p.get('kind')} {p.get('phase')} to {p.get('recipient')}"
    if action == "incident.assessment_answered":  # which question and the move: a run of answers reads as one each
        return f"{p.get('question')}: {p.get('from')} → {p.get('to')}"
    if action == "incident.declared":
        return f"{p.get('reference')} {p.get('title')}"
    text = p.get("body") or p.get("title") or p.get("reason") or p.get("summary") or ""
    return str(text)[:160]


def seq_of_fact(events: list[AuditEvent], field_name: str) -> int | None:
    """The newest facts_updated event that set `field_name`."""
    for event in reversed(events):
        if event.action == "incident.facts_updated" and field_name in event.payload.get("changed", {}):
            return event.seq
    return None


def seq_of_status(events: list[AuditEvent], status: str) -> int | None:
    """The newest status_changed event that moved the incident to `status`."""
    for event in reversed(events):
        if event.action == "incident.status_changed" and event.payload.get("to") == status:
            return event.seq
    return None


def run_event_seq(events: list[AuditEvent], action: str, *, kind: str = "") -> int | None:
    """The newest recovery-run event of `action` (and step kind, when given) in the incident's log."""
    for event in reversed(events):
        if event.action == action and (not kind or event.payload.get("kind") == kind):
            return event.seq
    return None


def first_event(events: list[AuditEvent], action: str) -> AuditEvent | None:
    return next((e for e in events if e.action == action), None)


def timeline_section(refs: list[EventRef]) -> Section:
    return Section(
        "timeline",
        "Timeline",
        intro=(
            f"All {len(refs)} audit events carrying this incident's id, oldest first. Filters: none; events "
            "about the affected assets that do not carry the incident id (backups, inventory edits) are not "
            "part of the incident's timeline. Each row's full hash and prev_hash are in evidence.json "
            "(audit.events) and are sealed by the anchoring checkpoint."
        ),
        fields=[
            Field(
                "occurred_at",
                "Occurred at (as distinct from recorded at)",
                "not applicable — each event is written when it happens, so its recorded_at is when it occurred; "
                "moments people give afterwards (start, detection, awareness, containment) are the key "
                "timestamps under Incident identification, each tied to the event that recorded it",
            )
        ],
        timeline=True,
    )
