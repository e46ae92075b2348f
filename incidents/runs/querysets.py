"""Chainable filters for runs and steps; no side effects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from incidents.runs.models import RecoveryRun, StepRun  # noqa: F401


class RunQuerySet(models.QuerySet["RecoveryRun"]):
    def active(self) -> RunQuerySet:
        from incidents.runs.models import RUN_ACTIVE

        return self.filter(status__in=RUN_ACTIVE)

    def for_incident(self, incident_pk: int) -> RunQuerySet:
        return self.filter(incident_id=incident_pk)


class StepQuerySet(models.QuerySet["StepRun"]):
    def stuck(self, *, now: datetime, tiers: list[int] | None = None) -> StepQuerySet:
        """Queued with no worker on it for a lease (a lost message), or running with a lapsed lease;
        each step measured against its asset's tier's lease (incidents/runs/services/lease.py)."""
        from incidents.runs.models import StepState
        from incidents.runs.services.lease import lapsed

        return self.filter(
            (Q(state=StepState.QUEUED) & lapsed(now, field="queued_at", tiers=tiers))
            | (Q(state=StepState.RUNNING) & lapsed(now, tiers=tiers))
        )

    def waiting_for_approval(self) -> StepQuerySet:
        from incidents.runs.models import StepState

        return self.filter(state=StepState.WAITING_APPROVAL)
