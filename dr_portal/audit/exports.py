"""Streaming CSV and JSON Lines exports of a filtered set of events."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from dr_portal.audit.chain import utc_text
from dr_portal.audit.models import AuditEvent

COLUMNS = [
    "seq",
    "recorded_at",
    "actor_id",
    "actor",
    "system_actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "incident_id",
    "payload",
    "personal_erased",
    "personal_digest",
    "prev_hash",
    "hash",
    "payload_hidden",
]


def event_row(event: AuditEvent) -> dict[str, Any]:
    payload = event.shown_payload
    return {
        "seq": event.seq,
        "recorded_at": utc_text(event.recorded_at),
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "system_actor": event.system_actor,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "incident_id": str(event.incident_id) if event.incident_id else None,
        # A point's file names and digests only for people who may restore; a row that lost
        # some says so, since its hash was computed over the whole payload.
        "payload": payload,
        "personal_erased": event.is_erased,
        "personal_digest": event.personal_digest,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "payload_hidden": payload != event.payload,
    }


def _stream(events: QuerySet[AuditEvent]) -> Iterator[AuditEvent]:
    # Oldest first, so a reader can follow the chain; chunks keep memory flat.
    yield from events.order_by("seq").iterator(chunk_size=2000)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in _stream(events):
        row = event_row(event)
        row["payload"] = json.dumps(row["payload"], sort_keys=True, ensure_ascii=False)
        # A spreadsheet would run a cell starting with = + - @ as a formula.
        yield writer.writerow([_safe_cell(row[column]) for column in COLUMNS])


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def jsonl_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    for event in _stream(events):
        yield json.dumps(event_row(event), sort_keys=True, ensure_ascii=False) + "\n"
