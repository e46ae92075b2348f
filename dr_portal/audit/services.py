"""Appending to the audit log.

Every state change calls `audit_append` inside its own transaction, so the
event commits or rolls back with the change it records.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from dr_portal.audit.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number; every appender takes the same advisory lock.
_PG_LOCK_KEY = 0x4452_5041_5544_4954


def canonical_json(value: Any) -> str:
    """The one encoding that hashes are computed over; raises TypeError on non-JSON values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """Everything the chain commits to, in canonical form."""
    return {
        "seq": event.seq,
        "recorded_at": _iso(event.recorded_at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "incident_id": str(event.incident_id) if event.incident_id else None,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
    # SQLite: settings open every transaction IMMEDIATE, which already holds
    # the database's single write lock.


def audit_append(
    *,
    action: str,
    actor: Any = None,
    system_actor: str = "",
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    incident_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `actor` is a user; without one, `system_actor` names the process.

    `obj` (a model instance with `public_id`) fills object_type/object_id.
    Call it inside the transaction of the change it records.
    """
    body = payload or {}
    canonical_json(body)  # fail here, before any lock, on a value JSON cannot hold
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "public_id", obj.pk))
    if actor is not None and getattr(actor, "is_authenticated", False):
        label, role, actor_id = actor.get_username(), getattr(actor, "role", ""), actor.pk
    else:
        label, role, actor_id = system_actor or "system", "", None
    with transaction.atomic():
        _lock_chain()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        event = AuditEvent(
            seq=seq,
            recorded_at=timezone.now(),
            actor_id=actor_id,
            actor_label=label,
            actor_role=role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            incident_id=incident_id,
            payload=body,
            prev_hash=prev,
        )
        event.hash = event_hash(hashed_fields(event))
        event.save(force_insert=True)
    return event
