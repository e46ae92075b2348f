"""Writing to the audit log: append (one or many), and erase personal data.

Every state change calls `audit_append` inside its own transaction, so the
event commits or rolls back with the change it records.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from dr_portal.audit.chain import (
    GENESIS_HASH,
    PERSONAL_PAYLOAD_KEYS,
    canonical_json,
    event_hash,
    personal_digest,
)
from dr_portal.audit.models import AuditEvent, AuditPersonalData

__all__ = [
    "GENESIS_HASH",
    "EventSpec",
    "audit_append",
    "audit_append_many",
    "audit_erase_person",
    "canonical_json",
]

# Any fixed 64-bit number; every appender takes the same advisory lock.
_PG_LOCK_KEY = 0x4452_5041_5544_4954


def lock_chain() -> None:
    """Serialise appenders until the surrounding transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite: settings open every
    transaction IMMEDIATE, which already holds the database's one write lock.
    The position is read under the lock, never taken from a sequence, which
    could hand out numbers that commit out of order.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


@dataclass
class EventSpec:
    """One event to append; the arguments of `audit_append`, as data."""

    action: str
    actor: Any = None
    system_actor: str = ""
    obj: Any = None
    object_type: str = ""
    object_id: str = ""
    incident_id: UUID | str | None = None
    payload: Mapping[str, Any] | None = None
    personal: Mapping[str, Any] | None = None


@dataclass
class _Prepared:
    """An event's columns, encoded and checked before any lock is taken."""

    action: str
    actor_id: int | None
    system_actor: str
    actor_role: str
    object_type: str
    object_id: str
    incident_id: UUID | None
    payload_json: str
    personal_json: str | None
    salt: str = field(default="")


def _prepare(spec: EventSpec) -> _Prepared:
    if not spec.action or "." not in spec.action:
        raise ValueError(f"audit action must be a dotted verb such as 'incident.declared', got {spec.action!r}")
    public = dict(spec.payload or {})
    personal_payload = {key: public.pop(key) for key in sorted(PERSONAL_PAYLOAD_KEYS & public.keys())}
    personal_payload.update(spec.personal or {})
    object_type, object_id = spec.object_type, spec.object_id
    if spec.obj is not None:
        object_type = object_type or spec.obj._meta.label_lower
        object_id = object_id or str(getattr(spec.obj, "public_id", spec.obj.pk))
    personal: dict[str, Any] = {}
    actor = spec.actor
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id, system_actor, role = actor.pk, "", str(getattr(actor, "role", ""))
        personal["actor"] = actor.get_username()
    else:
        actor_id, system_actor, role = None, spec.system_actor or "system", ""
    if personal_payload:
        personal["payload"] = personal_payload
    incident = spec.incident_id
    if incident is not None and not isinstance(incident, UUID):
        incident = UUID(str(incident))
    # Encoding here raises TypeError/ValueError at the call site, before any
    # lock or write, for a value JSON cannot hold.
    prepared = _Prepared(
        action=spec.action,
        actor_id=actor_id,
        system_actor=system_actor,
        actor_role=role,
        object_type=object_type,
        object_id=object_id,
        incident_id=incident,
        payload_json=canonical_json(public),
        personal_json=canonical_json(personal) if personal else None,
    )
    if prepared.personal_json is not None:
        prepared.salt = secrets.token_hex(16)
    return prepared


def _lock_and_read_head() -> tuple[int, str]:
    """Take the chain lock, then read the head; on PostgreSQL in one round trip (less time holding the lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT head_seq, head_hash FROM audit_lock_head(%s)", [_PG_LOCK_KEY])
            seq, head_hash = cursor.fetchone()
        return (seq, head_hash) if seq is not None else (0, GENESIS_HASH)
    lock_chain()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, GENESIS_HASH)


def _build(prepared: _Prepared, *, seq: int, prev_hash: str, now: Any) -> tuple[AuditEvent, AuditPersonalData | None]:
    digest = ""
    if prepared.personal_json is not None:
        digest = personal_digest(salt_hex=prepared.salt, data_json=prepared.personal_json)
    event = AuditEvent(
        seq=seq,
        recorded_at=now,
        actor_id=prepared.actor_id,
        system_actor=prepared.system_actor,
        actor_role=prepared.actor_role,
        action=prepared.action,
        object_type=prepared.object_type,
        object_id=prepared.object_id,
        incident_id=prepared.incident_id,
        payload_json=prepared.payload_json,
        personal_digest=digest,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    personal = None
    if prepared.personal_json is not None:
        personal = AuditPersonalData(event=event, salt=prepared.salt, data_json=prepared.personal_json)
    return event, personal


def _checkpoint_due(first_seq: int, last_seq: int) -> None:
    every = settings.AUDIT_CHECKPOINT_EVERY
    if last_seq // every > (first_seq - 1) // every:
        from dr_portal.audit.tasks import audit_checkpoint
        from dr_portal.queue import send_on_commit

        send_on_commit(audit_checkpoint, args=())


def audit_append(
    *,
    action: str,
    actor: Any = None,
    system_actor: str = "",
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    incident_id: UUID | str | None = None,
    payload: Mapping[str, Any] | None = None,
    personal: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event and return it. Call it inside the transaction of the change it records.

    `actor` is the signed-in person; without one, `system_actor` names the
    process ('system:beat'). `obj` (a model instance; its `public_id` when it
    has one) fills object_type/object_id. `payload` must be JSON; `personal`
    holds personal data (and the payload keys ip, user_agent, username and
    email are moved there too): it can later be erased without breaking the
    chain. A payload JSON cannot encode raises here and writes nothing.
    """
    return audit_append_many(
        events=[
            EventSpec(
                action=action,
                actor=actor,
                system_actor=system_actor,
                obj=obj,
                object_type=object_type,
                object_id=object_id,
                incident_id=incident_id,
                payload=payload,
                personal=personal,
            )
        ]
    )[0]


def audit_append_many(*, events: Sequence[EventSpec], batch_size: int = 2000) -> list[AuditEvent]:
    """Append several events under one lock, in order; for importers and bulk jobs.

    All share one `recorded_at`. Same guarantees as `audit_append`: all or
    nothing with the surrounding transaction.
    """
    prepared = [_prepare(spec) for spec in events]
    if not prepared:
        return []
    with transaction.atomic():
        _row_locks_first({item.actor_id for item in prepared if item.actor_id is not None})
        head_seq, prev_hash = _lock_and_read_head()
        now = timezone.now()
        built: list[AuditEvent] = []
        personal: list[AuditPersonalData] = []
        for offset, item in enumerate(prepared, start=1):
            event, extra = _build(item, seq=head_seq + offset, prev_hash=prev_hash, now=now)
            prev_hash = event.hash
            built.append(event)
            if extra is not None:
                personal.append(extra)
        if len(built) == 1:
            built[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(built, batch_size=batch_size)
        if personal:
            AuditPersonalData.objects.bulk_create(personal, batch_size=batch_size)
        _checkpoint_due(head_seq + 1, head_seq + len(built))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's default again for the rest
    return built


def _row_locks_first(actor_ids: set[int]) -> None:
    """Take the row locks an append needs before the chain lock, which comes last (docs/runs.md, "Lock order").

    PostgreSQL checks foreign keys at commit, taking a KEY SHARE lock on each row they
    point to. Held behind the chain lock, those checks met transactions that had locked
    such a row (an asset, a run) FOR UPDATE and were waiting for the chain: a deadlock.
    So the checks this transaction owes run now, as does the one the event's own actor
    needs, and the chain lock is taken only after them.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if actor_ids:
            table = AuditEvent._meta.get_field("actor").related_model._meta.db_table  # type: ignore[union-attr]
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [sorted(actor_ids)])  # noqa: S608


def events_about_person_q(*, user: Any) -> Q:
    """Events whose personal data concerns `user`: they acted, they were the object, or it names them."""
    return (
        Q(actor_id=user.pk)
        | Q(object_type=user._meta.label_lower, object_id=str(getattr(user, "public_id", user.pk)))
        | Q(personal__data_json__contains=canonical_json(user.get_username()))
    )


def audit_erase_person(*, user: Any, by: Any, reason: str) -> AuditEvent:
    """Erase the personal data of every event about `user` (GDPR Art. 17); itself an audited action.

    The events, their hashes and the chain stay as they are: each keeps the
    digest of what was erased, and `audit_verify` still passes.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required to erase personal data")
    with transaction.atomic():
        lock_chain()
        seqs = list(
            AuditPersonalData.objects.filter(
                redacted_at__isnull=True,
                event__in=AuditEvent.objects.filter(events_about_person_q(user=user)).values("seq"),
            ).values_list("event_id", flat=True)
        )
        record = audit_append(
            action="audit.personal_data_erased",
            actor=by,
            system_actor="system:gdpr",
            object_type=user._meta.label_lower,
            object_id=str(getattr(user, "public_id", user.pk)),
            payload={"events": len(seqs), "first_seq": min(seqs, default=None), "last_seq": max(seqs, default=None)},
            personal={"reason": reason},
        )
        audit_erase_events(seqs=seqs, erased_by_seq=record.seq)
    return record


def audit_erase_events(*, seqs: Iterable[int], erased_by_seq: int) -> int:
    """Null the personal data of these events; the caller has appended the event `erased_by_seq`."""
    seq_list = list(seqs)
    now = timezone.now()
    changed = 0
    for start in range(0, len(seq_list), 1000):
        changed += AuditPersonalData.objects.filter(
            event_id__in=seq_list[start : start + 1000], redacted_at__isnull=True
        ).update(data_json=None, salt="", redacted_at=now, redaction_seq=erased_by_seq)
    return changed
