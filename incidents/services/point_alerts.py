"""A recovery point that screening found suspicious raises an alert on its asset, through the alert intake.

Inventory marks the point and sends `incidents.point_suspicious_alert` with its id
(by task name: inventory never imports incidents). Here the point becomes a firing
alert labelled with the asset's name, so it opens an incident on the asset, or joins
the open one, exactly as an alert from Alertmanager would; its fingerprint is the
point's, so a repeat only counts.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from incidents.intake import InboundAlert, InboundBatch
from incidents.models import AlertStatus
from incidents.services.alerts import IntakeResult, alerts_ingest
from inventory.models import PointStatus, RecoveryPoint

SOURCE = "dr-portal"
ALERT_NAME = "RecoveryPointSuspicious"


def point_suspicious_alert(*, point_id: int) -> IntakeResult | None:
    """Raise the alert for a suspicious point; None when the point is gone or no longer suspicious."""
    point = RecoveryPoint.objects.select_related("asset").filter(pk=point_id).first()
    if point is None or point.status != PointStatus.SUSPICIOUS:
        return None
    asset = point.asset
    alert = InboundAlert(
        fingerprint=hashlib.sha256(f"point-suspicious:{point.public_id}".encode()).hexdigest()[:32],
        status=AlertStatus.FIRING,
        labels={
            "alertname": ALERT_NAME,
            "asset": asset.name,
            "point": str(point.public_id),
            settings.ALERT_SEVERITY_LABEL: "critical",
            "category": "security",
        },
        annotations={
            "summary": f"A new recovery point of {asset.name} looks like ransomware at work",
            "description": f"Point {point.public_id} (data as of {point.data_as_of:%Y-%m-%d %H:%M} UTC) is "
            f"marked suspicious and cannot be restored without an audited release: {point.note}",
        },
        starts_at=point.created_at,
        ends_at=None,
    )
    batch = InboundBatch(source=SOURCE, group_key=f"point-screening:{asset.public_id}", alerts=[alert])
    return alerts_ingest(batch=batch)
