"""The one call incident services make: page the on-call once the declaration has committed."""

from __future__ import annotations

from dr_portal.queue import send_on_commit
from incidents.models import Incident


def page_on_commit(incident: Incident) -> None:
    from incidents.paging.tasks import paging_open

    send_on_commit(paging_open, args=(incident.pk,))
