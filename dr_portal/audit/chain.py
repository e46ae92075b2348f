"""The hash chain's encodings: what exactly is hashed, in one place (docs/audit.md describes it)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii as _esc
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64
CHAIN_VERSION = 1
_ZERO = timedelta(0)

# Payload keys that always hold personal data; audit_append moves them into
# the erasable personal part even when a caller forgets to.
PERSONAL_PAYLOAD_KEYS = frozenset({"ip", "user_agent", "username", "email"})

# The columns of an audit event the chain hashes, in row_hash's argument
# order. Appending, audit_verify, the benchmark and the tests all read this
# tuple, so a column added to the preimage is added here and nowhere else.
HASHED_COLUMNS: tuple[str, ...] = (
    "seq",
    "recorded_at",
    "actor_id",
    "system_actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "incident_id",
    "payload_json",
    "personal_digest",
    "prev_hash",
)

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_json(value: Any) -> str:
    """The one encoding hashes are computed over: sorted keys, no spaces, ASCII only.

    Raises TypeError on anything JSON cannot hold and ValueError on NaN or
    infinity, so a bad payload fails at the caller before anything is written.
    ASCII-only escapes keep NUL characters and lone surrogates out of the
    stored text, which PostgreSQL would refuse.
    """
    return _encoder.encode(value)


def utc_text(moment: datetime) -> str:
    """2026-11-24T09:30:00.000000Z: always six fraction digits, always UTC."""
    if moment.tzinfo is not UTC and moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def row_hash(
    seq: int,
    recorded_at: datetime,
    actor_id: int | None,
    system_actor: str,
    actor_role: str,
    action: str,
    object_type: str,
    object_id: str,
    incident_id: UUID | str | None,
    payload_json: str,
    personal_digest: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the event's preimage; the arguments are HASHED_COLUMNS, in that order.

    The preimage is canonical_json of the envelope (see event_preimage_reference
    and docs/audit.md), written out key by key in sorted order because
    audit_verify runs this once per event and a dict plus an encoder costs
    twice as much. Every string goes through the JSON encoder's own escaping.
    """
    preimage = (
        f'{{"action":{_esc(action)},"actor_id":{"null" if actor_id is None else int(actor_id)},'
        f'"actor_role":{_esc(actor_role)},'
        f'"incident_id":{"null" if incident_id is None else _esc(str(incident_id))},'
        f'"object_id":{_esc(object_id)},"object_type":{_esc(object_type)},"payload":{_esc(payload_json)},'
        f'"personal_digest":{_esc(personal_digest)},"prev_hash":{_esc(prev_hash)},'
        f'"recorded_at":"{utc_text(recorded_at)}","seq":{int(seq)},"system_actor":{_esc(system_actor)},'
        f'"v":{CHAIN_VERSION}}}'
    )
    return hashlib.sha256(preimage.encode("ascii")).hexdigest()


def event_hash(event: Any) -> str:
    """row_hash of an event (or anything with the HASHED_COLUMNS as attributes)."""
    return row_hash(*(getattr(event, column) for column in HASHED_COLUMNS))


def event_preimage_reference(**fields: Any) -> bytes:
    """The preimage spelled out with canonical_json, as docs/audit.md describes it (tests compare)."""
    body = dict(fields)
    body["payload"] = body.pop("payload_json")
    body["recorded_at"] = utc_text(body["recorded_at"])
    body["incident_id"] = str(body["incident_id"]) if body["incident_id"] is not None else None
    body["v"] = CHAIN_VERSION
    return canonical_json(body).encode("ascii")


def personal_digest(*, salt_hex: str, data_json: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + data_json.encode("ascii")).hexdigest()
