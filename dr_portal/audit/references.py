"""How the audit page names incidents (INC-12, not a UUID) and the objects of events (RUN-3, an asset's name).

The audit log sits below the incidents and inventory apps and cannot import them; the namers
are registered from their `AppConfig.ready()`. Without one, incidents and objects are ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Protocol


class IncidentNamer(Protocol):
    def resolve(self, reference: str) -> uuid.UUID | None: ...
    def labels(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]: ...
    def choices(self) -> list[tuple[str, str]]: ...


_namer: IncidentNamer | None = None


def register_incident_namer(namer: IncidentNamer) -> None:
    global _namer
    _namer = namer


def incident_id_from(text: str) -> uuid.UUID | None:
    """The incident a person typed: its reference (INC-12, DRL-3) or its id; None when nothing matches."""
    text = text.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    return _namer.resolve(text) if _namer is not None else None


def incident_labels(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted or _namer is None:
        return {}
    return _namer.labels(wanted)


def incident_choices() -> list[tuple[str, str]]:
    """(reference, title) of recent incidents, for the page's picker."""
    return _namer.choices() if _namer is not None else []


# --- the object an event is about, by its human reference ---------------------------------

ObjectLabels = Callable[[list[uuid.UUID]], dict[uuid.UUID, tuple[str, str]]]
_object_namers: dict[str, ObjectLabels] = {}


def register_object_namer(object_type: str, labels: ObjectLabels) -> None:
    """``labels(ids)`` answers {public id: (reference, url)} for objects of ``object_type`` in one query."""
    _object_namers[object_type] = labels


def object_labels(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """{(object_type, object_id): (reference, url)} for the objects named: one query per type, never per row.

    An id that is not a UUID, or an object since deleted, or a type no app names, is left out: the
    page shows the raw id then.
    """
    wanted: dict[str, set[uuid.UUID]] = {}
    for object_type, object_id in pairs:
        if object_type not in _object_namers or not object_id:
            continue
        try:
            wanted.setdefault(object_type, set()).add(uuid.UUID(object_id))
        except ValueError:
            continue
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for object_type, ids in wanted.items():
        for public_id, label in _object_namers[object_type](sorted(ids)).items():
            found[(object_type, str(public_id))] = label
    return found
