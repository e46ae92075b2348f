"""What every incident service shares: the refusal, the audit helper, and the row lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from incidents.models import Incident


class IncidentRefused(Refused):
    """A request the rules forbid; the message says why in words a person can act on."""

    code = "incident_refused"


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def record(
    incident: Incident,
    action: str,
    *,
    by: User | None,
    system_actor: str = "",
    obj: Any = None,
    payload: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the incident's timeline (the audit log, filtered by incident).

    `personal` holds payload values that name people (kept erasable, merged back into `payload` on read).
    """
    return audit_append(
        action=action,
        actor=by,
        system_actor=system_actor or "system",
        obj=obj if obj is not None else incident,
        incident_id=incident.public_id,
        payload=payload,
        personal=personal,
    )


def lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)


def refuse_if_closed(incident: Incident, what: str) -> None:
    if incident.is_closed:
        raise IncidentRefused(f"{incident.reference} is closed; {what}.")
