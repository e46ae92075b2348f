"""How the audit page names incidents (INC-12, not a UUID): the incidents app registers a namer.

The audit log sits below the incidents app and cannot import it; the namer is
registered from `IncidentsConfig.ready()`. Without one, incidents are ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
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
