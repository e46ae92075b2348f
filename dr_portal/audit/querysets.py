"""Chainable filters over audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.functions import Cast

if TYPE_CHECKING:
    from dr_portal.audit.models import AuditEvent  # noqa: F401


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def payload_matches(self, **conditions: Any) -> AuditEventQuerySet:
        """Events whose (public) payload has these values: `payload_matches(regime="gdpr")`.

        The payload is kept as the exact text that was hashed, not in a JSON
        column, so it is read as JSON here; any JSON lookup works
        (`payload_matches(step__gte=3)`). Filter on indexed columns first.
        """
        annotated = self.annotate(_payload_doc=Cast("payload_json", models.JSONField()))
        return annotated.filter(**{f"_payload_doc__{key}": value for key, value in conditions.items()})


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):  # type: ignore[misc]
    """Fetches each event's personal-data row with it: `payload` and `actor_label` read it."""

    def get_queryset(self) -> AuditEventQuerySet:
        return super().get_queryset().select_related("personal")
