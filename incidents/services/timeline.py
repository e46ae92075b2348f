"""Manual notes and pins on an incident's timeline (the timeline itself is the audit log)."""

from __future__ import annotations

from django.db import transaction

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.models import Incident, Note, Pin
from incidents.services.common import IncidentRefused, lock, record, refuse_if_closed

NOTE_MAX = 10_000


@transaction.atomic
def note_add(*, incident: Incident, body: str, by: User, corrects: Note | None = None) -> Note:
    """Append a note. Notes are never edited; a correction is a new note naming the one it corrects."""
    locked = lock(incident)
    refuse_if_closed(locked, "notes can no longer be added")
    body = body.strip()
    if not body:
        raise IncidentRefused("A note needs some text.")
    if len(body) > NOTE_MAX:
        raise IncidentRefused(f"A note is at most {NOTE_MAX} characters; this one has {len(body)}.")
    if corrects is not None and corrects.incident_id != locked.pk:
        raise IncidentRefused("A correction must point at a note of the same incident.")
    note = Note.objects.create(incident=locked, author=by, body=body, corrects=corrects)
    event = record(
        locked,
        "incident.note_added",
        by=by,
        obj=note,
        payload={
            "body": body,
            "corrects_note": str(corrects.public_id) if corrects else None,
            "corrects_seq": corrects.audit_seq if corrects else None,
        },
    )
    note.audit_seq = event.seq
    note.save(update_fields=["audit_seq"])
    return note


@transaction.atomic
def pin_set(*, incident: Incident, seq: int, pinned: bool, by: User) -> bool:
    """Pin (or unpin) a timeline entry; returns whether it is pinned afterwards."""
    locked = lock(incident)
    if not AuditEvent.objects.filter(seq=seq, incident_id=locked.public_id).exists():
        raise IncidentRefused(f"#{seq} is not an entry of {locked.reference}'s timeline.")
    existing = Pin.objects.filter(incident=locked, seq=seq).first()
    if pinned == (existing is not None):
        return pinned
    if pinned:
        Pin.objects.create(incident=locked, seq=seq, pinned_by=by)
    elif existing is not None:
        existing.delete()
    record(locked, "incident.entry_pinned" if pinned else "incident.entry_unpinned", by=by, payload={"seq": seq})
    return pinned
