"""Email bodies written for people: what happened, what is asked of them, and the link to act on it."""

from __future__ import annotations

from typing import Any

from incidents.models import Delivery


def _incident_lines(incident: dict[str, Any]) -> list[str]:
    lines = [f"Incident: {incident.get('reference', '')} {incident.get('title', '')}"]
    lines.append(
        f"Severity: {incident.get('severity', '')} · status {str(incident.get('status', '')).replace('_', ' ')}"
    )
    if incident.get("assets"):
        lines.append(f"Affected: {', '.join(incident['assets'])}")
    if incident.get("teams"):
        lines.append(f"Teams: {', '.join(incident['teams'])}")
    return lines


def _approval_lines(payload: dict[str, Any]) -> list[str]:
    step = payload.get("step") or {}
    run = payload.get("run") or {}
    what = f"{step.get('kind', 'step')}".replace("_", " ")
    if step.get("asset"):
        what += f" of {step['asset']}"
    if step.get("target_region"):
        what += f" into {step['target_region']}"
    lines = [
        f"{step.get('requested_by') or 'The system'} asks for your approval of “{step.get('title', '')}” "
        f"in {run.get('reference', 'a run')} ({run.get('mode', '')}).",
        f"What happens if approved: {what}.",
        f"Approvals needed: {step.get('quorum', 1)} from {str(step.get('approval_role', '')).replace('_', ' ')}s; "
        "you cannot approve your own request.",
    ]
    if step.get("data_as_of"):
        lines.append(f"Data as of: {str(step['data_as_of'])[:16].replace('T', ' ')} UTC")
    lines += ["", f"Decide here (code and comment in one form): {payload.get('approvals_url', '')}"]
    return lines


def _page_lines(payload: dict[str, Any]) -> list[str]:
    page = payload.get("page") or {}
    return [
        f"{payload.get('to', 'You')}, you are on call and this needs you: {page.get('why', '')}.",
        f"Escalation level {page.get('level', 1)}; team {page.get('team') or '—'}.",
        "",
        f"Acknowledge (one click, no sign-in needed; the link expires): {payload.get('ack_url', '')}",
        f"Or open the page: {page.get('page_url', '')}",
        "Until someone acknowledges, you and then the next level will be notified again.",
    ]


def email_body(delivery: Delivery) -> str:
    payload = delivery.payload or {}
    incident = payload.get("incident") or {}
    lines = [delivery.subject, ""]
    if delivery.event == "approval_needed":
        lines += _approval_lines(payload)
    elif delivery.event.startswith("page"):
        lines += _page_lines(payload)
    elif delivery.event == "role_assigned":
        lines += [f"You now hold the role {str(payload.get('role', '')).replace('_', ' ')}."]
    elif delivery.event == "deadline_near":
        lines += [f"The {payload.get('clock', '')} deadline is {str(payload.get('state', '')).replace('_', ' ')}."]
    lines += ["", *_incident_lines(incident), "", f"Open the incident: {incident.get('url', '')}"]
    return "\n".join(lines)
