"""The calls incident services make: page the on-call once a declaration or a severity change has committed."""

from __future__ import annotations

from dr_portal.queue import send_on_commit
from incidents.models import Incident


def page_on_commit(incident: Incident) -> None:
    from incidents.paging.tasks import paging_open

    send_on_commit(paging_open, args=(incident.pk,))


def severity_page_on_commit(incident: Incident, previous: str) -> None:
    from incidents.paging.tasks import paging_severity_changed

    send_on_commit(paging_severity_changed, args=(incident.pk, previous))
