"""Names incidents for the audit page: INC-12 to an id and back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from incidents.models import Incident, IncidentKind

_REFERENCE = re.compile(r"^(INC|DRL)-(\d+)$", re.IGNORECASE)


class IncidentReferences:
    def resolve(self, reference: str) -> uuid.UUID | None:
        match = _REFERENCE.match(reference.strip())
        if match is None:
            return None
        kind = IncidentKind.DRILL if match.group(1).upper() == "DRL" else IncidentKind.REAL
        found = Incident.objects.filter(pk=int(match.group(2)), kind=kind).values_list("public_id", flat=True).first()
        return found

    def labels(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        rows = Incident.objects.filter(public_id__in=list(ids)).only("pk", "kind", "public_id", "title")
        return {row.public_id: row.reference for row in rows}

    def choices(self) -> list[tuple[str, str]]:
        rows = Incident.objects.order_by("-declared_at").only("pk", "kind", "title")[:200]
        return [(row.reference, row.title) for row in rows]
