"""Paging work for workers: open a page after an incident is declared; escalate on beat."""

from __future__ import annotations

from celery import shared_task

from incidents.models import Incident
from incidents.paging.changes import page_severity_changed
from incidents.paging.services import page_open, pages_escalate


@shared_task(name="paging.open")
def paging_open(incident_id: int) -> str:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return f"incident {incident_id} is gone"
    page = page_open(incident=incident)
    return f"paged for {incident.reference}" if page else f"no page for {incident.reference}"


@shared_task(name="paging.severity_changed")
def paging_severity_changed(incident_id: int, previous: str) -> str:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return f"incident {incident_id} is gone"
    page = page_severity_changed(incident=incident, previous=previous)
    return f"paged for {incident.reference} at {incident.severity}" if page else f"no page for {incident.reference}"


@shared_task(name="paging.escalate", expires=60)
def paging_escalate() -> str:
    done = pages_escalate()
    return f"{len(done)} page(s) moved on"
