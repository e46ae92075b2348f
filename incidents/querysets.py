"""Chainable filters for incident rows; no side effects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from incidents.models import Delivery, Incident  # noqa: F401


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        from incidents.models import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)

    def not_closed(self) -> IncidentQuerySet:
        from incidents.models import IncidentStatus

        return self.exclude(status=IncidentStatus.CLOSED)

    def real(self) -> IncidentQuerySet:
        from incidents.models import IncidentKind

        return self.filter(kind=IncidentKind.REAL)

    def drills(self) -> IncidentQuerySet:
        from incidents.models import IncidentKind

        return self.filter(kind=IncidentKind.DRILL)

    def with_regulated_data(self) -> IncidentQuerySet:
        return self.filter(models.Q(personal_data=True) | models.Q(phi=True) | models.Q(ai_serious=True))


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def stuck(self, *, before: datetime) -> DeliveryQuerySet:
        """Pending and overdue for an attempt: the message or its retry was lost."""
        from incidents.models import DeliveryStatus

        return self.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=before)
