"""The alert inbox: alerts that named no known asset wait here until a commander handles them.

A commander attaches one to an incident, declares an incident from it, or maps
its labels to an asset so that the next alert like it finds the asset on its own.
Nothing an alerting system sends is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from dr_portal.errors import Refused
from incidents.intake import InboundAlert, InboundBatch
from incidents.models import (
    AlertMapping,
    AlertRecord,
    AlertStatus,
    AssetSource,
    Category,
    DetectionSource,
    InboxAlert,
    InboxState,
    Incident,
)
from incidents.services.common import lock, record
from incidents.services.lifecycle import incident_declare
from inventory.models import Asset, AssetKind
from inventory.services import asset_create

SYSTEM = "system:alerts"


class InboxRefused(Refused):
    code = "inbox_refused"


# --- what intake does ------------------------------------------------------------------


def inbox_keep(*, batch: InboundBatch, alert: InboundAlert) -> InboxAlert:
    """Keep a firing alert nobody could place; a repeat of an open one only counts."""
    row = (
        InboxAlert.objects.select_for_update(no_key=True)
        .filter(fingerprint=alert.fingerprint, state=InboxState.OPEN)
        .first()
    )
    now = timezone.now()
    if row is not None:
        row.times_seen += 1
        row.last_seen_at = now
        row.status, row.ends_at = AlertStatus.FIRING, None
        row.labels, row.annotations = alert.labels, alert.annotations
        row.save(update_fields=["times_seen", "last_seen_at", "status", "ends_at", "labels", "annotations"])
        return row
    row = InboxAlert.objects.create(
        source=batch.source,
        fingerprint=alert.fingerprint,
        group_key=batch.group_key,
        name=alert.name[:200],
        status=AlertStatus.FIRING,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        external_url=batch.external_url,
        starts_at=alert.starts_at,
    )
    audit_append(
        action="alert.inboxed",
        system_actor=SYSTEM,
        obj=row,
        payload={"source": batch.source, "name": row.name, "fingerprint": row.fingerprint, "labels": row.labels},
    )
    return row


def inbox_resolve(*, alert: InboundAlert) -> bool:
    """A resolved alert for an open inbox entry marks it resolved; False when there is none."""
    row = (
        InboxAlert.objects.select_for_update(no_key=True)
        .filter(fingerprint=alert.fingerprint, state=InboxState.OPEN)
        .first()
    )
    if row is None:
        return False
    row.status, row.ends_at, row.last_seen_at = AlertStatus.RESOLVED, alert.ends_at or timezone.now(), timezone.now()
    row.save(update_fields=["status", "ends_at", "last_seen_at"])
    return True


def is_platform_alert(labels: dict[str, str]) -> bool:
    wanted = settings.ALERT_PLATFORM_LABELS
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def portal_asset_ensure(*, estate: list[Asset] | None = None) -> Asset:
    """The asset that stands for the portal itself; registered on first need so its alerts are never lost."""
    name = settings.PORTAL_ASSET_NAME
    if estate is None:
        estate = list(Asset.objects.filter(name=name))
    found = next((a for a in estate if a.name == name), None)
    if found is not None:
        return found
    asset = asset_create(
        by=None,
        system_actor=SYSTEM,
        fields={
            "name": name,
            "title": "DR Portal (this application: web, workers, beat)",
            "kind": AssetKind.ENDPOINT,
            "owner_team": "platform",
            "tier": 0,
            "region": settings.PORTAL_ASSET_REGION,
            # What restoring the portal needs besides its database: keys, checkpoints, reports.
            "source_uri": str(settings.VAR_DIR),
            "labels": dict(settings.ALERT_PLATFORM_LABELS),
        },
    )
    estate.append(asset)
    return asset


# --- what a commander does --------------------------------------------------------------


def _lock_open(alert: InboxAlert) -> InboxAlert:
    locked = InboxAlert.objects.select_for_update(no_key=True).get(pk=alert.pk)
    if locked.state != InboxState.OPEN:
        raise InboxRefused(f"This alert was already handled ({locked.get_state_display().lower()}).")
    return locked


def _handled(row: InboxAlert, *, state: str, by: User, incident: Incident | None = None) -> None:
    row.state, row.incident, row.handled_by, row.handled_at = state, incident, by, timezone.now()
    row.save(update_fields=["state", "incident", "handled_by", "handled_at"])


def _attach(row: InboxAlert, incident: Incident, by: User) -> None:
    existing = (
        AlertRecord.objects.select_for_update(no_key=True)
        .filter(incident=incident, fingerprint=row.fingerprint)
        .first()
    )
    if existing is not None:
        existing.times_seen += row.times_seen
        existing.status, existing.ends_at, existing.last_seen_at = row.status, row.ends_at, row.last_seen_at
        existing.save(update_fields=["times_seen", "status", "ends_at", "last_seen_at"])
    else:
        AlertRecord.objects.create(
            incident=incident,
            source=row.source,
            fingerprint=row.fingerprint,
            group_key=row.group_key,
            name=row.name,
            status=row.status,
            labels=row.labels,
            annotations=row.annotations,
            generator_url=row.generator_url,
            external_url=row.external_url,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            times_seen=row.times_seen,
        )
    _handled(row, state=InboxState.ATTACHED, by=by, incident=incident)
    record(
        incident,
        "alert.attached",
        by=by,
        obj=row,
        payload={"name": row.name, "fingerprint": row.fingerprint, "labels": row.labels, "from": "inbox"},
    )


@transaction.atomic
def inbox_alert_attach(*, alert: InboxAlert, incident: Incident, by: User) -> InboxAlert:
    """Put an inbox alert on an incident that is not closed."""
    row = _lock_open(alert)
    incident = lock(incident)
    if incident.is_closed:
        raise InboxRefused(f"{incident.reference} is closed; declare a new incident instead.")
    _attach(row, incident, by)
    return row


@transaction.atomic
def inbox_alert_declare(*, alert: InboxAlert, by: User, assets: Sequence[Asset] = ()) -> Incident:
    """Declare an incident from an inbox alert (its severity by the usual label rule) and attach the alert."""
    from incidents.services.alerts import alert_severity

    row = _lock_open(alert)
    severity, rule = alert_severity(row.labels)
    category = row.labels.get("category", "")
    incident = incident_declare(
        title=(row.annotations.get("summary") or row.name or "Alert from the inbox")[:200],
        category=category if category in Category.values else Category.AVAILABILITY,
        by=by,
        severity=severity,
        severity_rule=rule,
        summary=row.annotations.get("description", ""),
        assets=assets,
        asset_source=AssetSource.DECLARED,
        source=DetectionSource.ALERT,
        detected_at=row.first_seen_at,
        started_at=row.starts_at,
        alert_group_key=row.group_key,
    )
    _attach(row, incident, by)
    return incident


@transaction.atomic
def inbox_alert_map(*, alert: InboxAlert, asset: Asset, label_keys: Sequence[str], by: User) -> AlertMapping:
    """Teach intake that alerts carrying these labels (with this alert's values) are about `asset`."""
    row = _lock_open(alert)
    keys = sorted(set(label_keys))
    if not keys:
        raise InboxRefused("Choose at least one label that identifies the asset.")
    missing = [k for k in keys if k not in row.labels]
    if missing:
        raise InboxRefused(f"The alert has no label {missing[0]!r}.")
    labels = {k: row.labels[k] for k in keys}
    mapping = AlertMapping.objects.create(asset=asset, labels=labels, created_by=by)
    _handled(row, state=InboxState.MAPPED, by=by)
    audit_append(
        action="alert.mapped",
        actor=by,
        obj=mapping,
        payload={"asset": asset.name, "labels": labels, "alert": str(row.public_id), "fingerprint": row.fingerprint},
    )
    return mapping


def mapping_matches(mapping: AlertMapping, labels: dict[str, Any]) -> bool:
    return bool(mapping.labels) and all(labels.get(k) == v for k, v in mapping.labels.items())
