"""Names incidents for the audit page (INC-12 to an id and back), and runs and steps by RUN-n, with links."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from django.urls import reverse

from dr_portal.audit.references import register_object_namer
from incidents.models import Incident, IncidentKind
from incidents.runs.models import RecoveryRun, StepRun

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


def _incidents(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = Incident.objects.filter(public_id__in=ids).only("pk", "kind", "public_id")
    return {row.public_id: (row.reference, reverse("incidents:detail", args=[row.public_id])) for row in rows}


def _runs(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = RecoveryRun.objects.filter(public_id__in=ids).values_list("public_id", "pk")
    return {pid: (f"RUN-{pk}", reverse("runs:detail", args=[pid])) for pid, pk in rows}


def _steps(ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    rows = StepRun.objects.filter(public_id__in=ids).values_list("public_id", "key", "run_id", "run__public_id")
    return {
        pid: (f"RUN-{run_pk} step {key}", reverse("runs:detail", args=[run_public]))
        for pid, key, run_pk, run_public in rows
    }


def register_object_namers() -> None:
    register_object_namer("incidents.incident", _incidents)
    register_object_namer("runs.recoveryrun", _runs)
    register_object_namer("runs.steprun", _steps)
