"""Incident figures for /metrics: open incidents by severity, notification deliveries by status.

Aggregates only, one GROUP BY each per scrape.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from dr_portal.ops.metrics import counts_by, register


@register
def incident_metrics() -> Iterator[Metric]:
    from incidents.models import Delivery, Incident
    from incidents.models.incident import OPEN_STATUSES

    open_ = Incident.objects.filter(status__in=OPEN_STATUSES)
    yield counts_by("drp_incidents_open", "Open incidents per severity.", open_, "severity", "severity")
    yield counts_by(
        "drp_notification_deliveries",
        "Notification deliveries per status (pending, sent, failed).",
        Delivery.objects.all(),
        "status",
        "status",
    )
