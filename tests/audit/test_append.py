"""Appending: one gapless chain, in the caller's transaction, and nothing written on bad input."""

from __future__ import annotations

import inspect
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from dr_portal.accounts.models import User
from dr_portal.audit.chain import GENESIS_HASH, HASHED_COLUMNS, event_hash, personal_digest, row_hash
from dr_portal.audit.models import AuditEvent, AuditPersonalData
from dr_portal.audit.services import EventSpec, audit_append, audit_append_many
from tests.audit.conftest import raw

pytestmark = pytest.mark.django_db


def recompute(event: AuditEvent) -> str:
    return event_hash(event)


def test_events_form_a_gapless_chain_from_genesis(admin: User) -> None:
    for n in range(5):
        audit_append(action="thing.happened", actor=admin, payload={"n": n})
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    for event in AuditEvent.objects.all():  # read back from the database, not the objects we built
        assert recompute(event) == event.hash


def test_event_records_actor_role_object_and_incident(admin: User) -> None:
    incident = uuid.uuid4()
    event = audit_append(action="incident.declared", actor=admin, obj=admin, incident_id=str(incident))
    stored = AuditEvent.objects.get(seq=event.seq)
    assert stored.actor_id == admin.pk
    assert stored.actor_label == "ada"
    assert stored.actor_role == "admin"
    assert stored.object_type == "accounts.user"
    assert stored.object_id == str(admin.public_id)
    assert stored.incident_id == incident


def test_system_actor_is_named_and_has_no_personal_data() -> None:
    event = audit_append(action="backup.completed", system_actor="system:beat", payload={"bytes": 10})
    stored = AuditEvent.objects.get(seq=event.seq)
    assert stored.actor_label == "system:beat"
    assert stored.personal_digest == ""
    assert not AuditPersonalData.objects.exists()


def test_rolled_back_change_leaves_no_event(admin: User) -> None:
    audit_append(action="thing.kept", actor=admin)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_append(action="thing.rolled_back", actor=admin)
        raise RuntimeError("the change failed")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["thing.kept"]
    # and the next append reuses the position: no gap
    assert audit_append(action="thing.next", actor=admin).seq == 2


@pytest.mark.parametrize(
    "payload",
    [{"when": object()}, {"ratio": float("nan")}, {"bytes": b"raw"}, {"nested": {"set": {1, 2}}}],
    ids=["object", "nan", "bytes", "set"],
)
def test_payload_json_cannot_hold_fails_at_call_site_and_writes_nothing(
    admin: User, payload: dict[str, object]
) -> None:
    audit_append(action="thing.before", actor=admin)
    with pytest.raises((TypeError, ValueError)):
        audit_append(action="thing.bad", actor=admin, payload=payload)
    assert AuditEvent.objects.count() == 1
    assert AuditPersonalData.objects.count() == 1


def test_action_must_be_a_dotted_verb() -> None:
    with pytest.raises(ValueError, match="dotted verb"):
        audit_append(action="declared")
    assert not AuditEvent.objects.exists()


def test_payload_round_trips_exactly_even_where_jsonb_would_not(admin: User) -> None:
    payload = {"big": 1e20, "tiny": 0.1, "text": "naïve \x00 ☃", "list": [3, 1, 2], "b": {"z": 1, "a": 2}}
    audit_append(action="thing.happened", actor=admin, payload=payload)
    stored = AuditEvent.objects.get()
    assert stored.payload == payload
    assert recompute(stored) == stored.hash


def test_personal_values_are_kept_beside_the_event_under_a_salted_digest(admin: User) -> None:
    audit_append(
        action="session.signed_in",
        actor=admin,
        payload={"ip": "203.0.113.9", "method": "password"},
        personal={"note": "called from home"},
    )
    event = AuditEvent.objects.get()
    assert json.loads(event.payload_json) == {"method": "password"}  # what the chain holds in clear
    assert "203.0.113.9" not in event.payload_json
    assert event.payload == {"method": "password", "ip": "203.0.113.9", "note": "called from home"}
    row = AuditPersonalData.objects.get(event=event)
    assert personal_digest(salt_hex=row.salt, data_json=row.data_json or "") == event.personal_digest
    assert json.loads(row.data_json or "")["actor"] == "ada"


def test_bulk_append_chains_in_order_under_one_lock(admin: User) -> None:
    audit_append(action="thing.first", actor=admin)
    events = audit_append_many(
        events=[EventSpec(action="import.row", system_actor="system:import", payload={"row": n}) for n in range(25)]
        + [EventSpec(action="import.done", actor=admin, payload={"ip": "198.51.100.1"})],
        batch_size=10,
    )
    assert [e.seq for e in events] == list(range(2, 28))
    stored = list(AuditEvent.objects.order_by("seq"))
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.hash
        assert recompute(after) == after.hash


def test_database_rejects_an_event_that_does_not_extend_the_head(admin: User) -> None:
    head = audit_append(action="thing.happened", actor=admin)
    forged = AuditEvent(
        seq=head.seq + 1,
        recorded_at=head.recorded_at,
        system_actor="system:forger",
        action="thing.forged",
        payload_json="{}",
        prev_hash="f" * 64,
        hash="e" * 64,
    )
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        forged.save(force_insert=True)
    forged.prev_hash = head.hash
    forged.seq = head.seq + 5  # right link, but leaves a gap
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        forged.save(force_insert=True)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        raw(
            "INSERT INTO audit_auditevent (seq, recorded_at, system_actor, actor_role, action, object_type,"
            " object_id, payload_json, personal_digest, prev_hash, hash)"
            " VALUES (%s, %s, '', '', 'x.y', '', '', '{}', '', %s, %s)",
            [head.seq + 1, head.recorded_at, GENESIS_HASH, "a" * 64],
        )
    assert AuditEvent.objects.count() == 1


def test_fast_hash_equals_the_documented_preimage(admin: User) -> None:
    import hashlib

    from dr_portal.audit.chain import event_preimage_reference

    audit_append(action="incident.declared", actor=admin, incident_id=uuid.uuid4(), payload={"z": [1, {"b": 2}]})
    audit_append(action="backup.completed", system_actor="system:beat")
    # strings that need escaping, in every string column
    audit_append(
        action='odd."quote',
        system_actor="system:\\back\nslash \u00e9 \u2603",
        object_type="t\tab",
        object_id='"',
        payload={"x": "\u0000\ud800"},
    )
    for event in AuditEvent.objects.all():
        fields = {name: getattr(event, name) for name in HASHED_COLUMNS}
        assert hashlib.sha256(event_preimage_reference(**fields)).hexdigest() == event.hash


def test_the_hash_covers_every_hashed_column_and_no_other() -> None:
    """row_hash's parameters are HASHED_COLUMNS; every one of them changes the hash."""
    assert tuple(inspect.signature(row_hash).parameters) == HASHED_COLUMNS
    values = {name: AuditEvent._meta.get_field(name) for name in HASHED_COLUMNS}  # each is a real column
    base = SimpleNamespace(
        seq=7,
        recorded_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        actor_id=3,
        system_actor="",
        actor_role="admin",
        action="thing.happened",
        object_type="t",
        object_id="1",
        incident_id=None,
        payload_json="{}",
        personal_digest="",
        prev_hash=GENESIS_HASH,
    )
    assert set(vars(base)) == set(values)
    changed = {
        "seq": 8,
        "recorded_at": base.recorded_at + timedelta(microseconds=1),
        "actor_id": None,
        "system_actor": "system:beat",
        "actor_role": "viewer",
        "action": "thing.undone",
        "object_type": "u",
        "object_id": "2",
        "incident_id": uuid.UUID(int=1),
        "payload_json": '{"a":1}',
        "personal_digest": "f" * 64,
        "prev_hash": "1" * 64,
    }
    for name, value in changed.items():
        other = SimpleNamespace(**(vars(base) | {name: value}))
        assert event_hash(other) != event_hash(base), name


def test_payload_can_be_queried_as_json(admin: User) -> None:
    audit_append(action="deadline.near", system_actor="system:clocks", payload={"regime": "gdpr", "hours": 72})
    audit_append(action="deadline.near", system_actor="system:clocks", payload={"regime": "hipaa", "hours": 1440})
    audit_append(action="session.signed_in", actor=admin, payload={"ip": "192.0.2.1"})
    assert list(AuditEvent.objects.payload_matches(regime="gdpr").values_list("seq", flat=True)) == [1]
    assert list(AuditEvent.objects.payload_matches(hours__gte=100).values_list("seq", flat=True)) == [2]
    assert not AuditEvent.objects.payload_matches(ip="192.0.2.1").exists()  # personal data is not in the payload column
