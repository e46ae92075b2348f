"""Alert intake: firing alerts that match assets open an incident or update the open one; the rest go to the inbox."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from incidents.intake import InboundAlert, InboundBatch
from incidents.models import (
    AlertMapping,
    AlertRecord,
    AlertStatus,
    AssetSource,
    Category,
    DetectionSource,
    Incident,
    IncidentStatus,
)
from incidents.services.common import lock, record
from incidents.services.inbox import inbox_keep, inbox_resolve, is_platform_alert, mapping_matches, portal_asset_ensure
from incidents.services.lifecycle import (
    SEVERITY_ORDER,
    incident_add_assets,
    incident_declare,
    incident_set_severity,
    incident_transition,
    more_severe,
)
from incidents.services.outbound import notify
from inventory.models import Asset

SYSTEM = "system:alerts"
log = logging.getLogger(__name__)


@dataclass
class IntakeResult:
    incident: Incident | None = None
    created: bool = False
    new: int = 0
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0
    inbox: int = 0
    truncated: int = 0
    reopened: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": str(self.incident.public_id) if self.incident else None,
            "reference": self.incident.reference if self.incident else None,
            "created": self.created,
            "alerts": {
                "new": self.new,
                "repeated": self.repeated,
                "resolved": self.resolved,
                "inbox": self.inbox,
                "ignored": self.ignored,
            },
            "truncatedAlerts": self.truncated,
            "reopened": self.reopened,
        }


def alert_severity(labels: dict[str, str]) -> tuple[str, str]:
    """Severity from the configured label and mapping, and the rule in words."""
    label = settings.ALERT_SEVERITY_LABEL
    value = labels.get(label, "").strip().lower()
    mapped = settings.ALERT_SEVERITY_MAP.get(value)
    if mapped:
        return mapped, f"Rule: alert label {label}={value} → {mapped} (ALERT_SEVERITY_MAP)."
    default = settings.ALERT_DEFAULT_SEVERITY
    shown = f"{value!r} is not mapped" if value else "is missing"
    return default, f"Rule: alert label {label} {shown} → default {default} (ALERT_DEFAULT_SEVERITY)."


def assets_matching(labels: dict[str, str], assets: list[Asset], mappings: Sequence[AlertMapping] = ()) -> list[Asset]:
    """Assets an alert is about: named by an `asset` label, whose own labels all appear on the alert,
    or mapped from such labels in the inbox. An alert about the portal itself is about the portal asset."""
    named = labels.get("asset")
    found: dict[int, Asset] = {}
    for asset in assets:
        if named == asset.name or (asset.labels and all(labels.get(k) == v for k, v in asset.labels.items())):
            found[asset.pk] = asset
    for mapping in mappings:
        if mapping_matches(mapping, labels):
            found.setdefault(mapping.asset_id, mapping.asset)
    if not found and is_platform_alert(labels):
        try:
            portal = portal_asset_ensure(estate=assets)
        except ValidationError as invalid:
            # The settings describe an asset the inventory will not take: the alert waits in the inbox instead.
            log.error("cannot register the portal asset %s: %s", settings.PORTAL_ASSET_NAME, invalid)
        else:
            found[portal.pk] = portal
    return list(found.values())


def _lock_group(group_key: str) -> None:
    # Two deliveries of one group at once must not open two incidents. SQLite's
    # IMMEDIATE transactions already serialise writers.
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(group_key.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _open_incident_for(batch: InboundBatch) -> Incident | None:
    by_group = Incident.objects.not_closed().real().filter(alert_group_key=batch.group_key).order_by("-pk").first()
    if by_group is not None:
        return by_group
    prints = [a.fingerprint for a in batch.alerts]
    return (
        Incident.objects.not_closed().real().filter(alerts__fingerprint__in=prints).order_by("-pk").distinct().first()
    )


def _most_severe(alerts: list[InboundAlert]) -> tuple[str, str]:
    ranked = sorted((alert_severity(a.labels) for a in alerts), key=lambda pair: SEVERITY_ORDER.index(pair[0]))  # type: ignore[arg-type]
    return ranked[0]


def _declare(batch: InboundBatch, firing: list[InboundAlert], assets: list[Asset]) -> Incident:
    first = firing[0]
    severity, rule = _most_severe(firing)
    title = batch.common_annotations.get("summary") or first.annotations.get("summary") or first.name or "Alert"
    category = first.labels.get("category", "")
    starts = [a.starts_at for a in firing if a.starts_at]
    description = batch.common_annotations.get("description") or first.annotations.get("description", "")
    return incident_declare(
        title=title[:200],
        category=category if category in Category.values else Category.AVAILABILITY,
        by=None,
        system_actor=SYSTEM,
        severity=severity,
        severity_rule=rule,
        summary=description,
        assets=assets,
        asset_source=AssetSource.ALERT,
        source=DetectionSource.ALERT,
        detected_at=timezone.now(),
        started_at=min(starts) if starts else None,
        alert_group_key=batch.group_key,
    )


def _upsert(
    incident: Incident, batch: InboundBatch, alert: InboundAlert, assets: list[Asset], result: IntakeResult
) -> None:
    existing = (
        AlertRecord.objects.select_for_update(no_key=True)
        .filter(incident=incident, fingerprint=alert.fingerprint)
        .first()
    )
    now = timezone.now()
    if existing is not None and existing.status == AlertStatus.FIRING:
        # The same alert again (Alertmanager repeats every group interval): no new timeline entry.
        existing.times_seen += 1
        existing.last_seen_at = now
        existing.save(update_fields=["times_seen", "last_seen_at"])
        result.repeated += 1
        return
    links = {"annotations": alert.annotations, "generator_url": alert.generator_url, "external_url": batch.external_url}
    if existing is not None:
        existing.status, existing.ends_at, existing.last_seen_at = AlertStatus.FIRING, None, now
        existing.times_seen += 1
        for key, value in links.items():
            setattr(existing, key, value)
        existing.save(update_fields=["status", "ends_at", "last_seen_at", "times_seen", *links])
        action = "alert.refiring"
    else:
        AlertRecord.objects.create(
            incident=incident,
            source=batch.source,
            fingerprint=alert.fingerprint,
            group_key=batch.group_key,
            name=alert.name[:200],
            status=AlertStatus.FIRING,
            labels=alert.labels,
            starts_at=alert.starts_at,
            **links,
        )
        action = "alert.firing"
    result.new += 1
    record(
        incident,
        action,
        by=None,
        system_actor=SYSTEM,
        payload={
            "source": batch.source,
            "name": alert.name,
            "fingerprint": alert.fingerprint,
            "summary": alert.annotations.get("summary", ""),
            "labels": alert.labels,
            "assets": [a.name for a in assets],
            "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        },
    )


def _resolve(incident: Incident | None, batch: InboundBatch, alert: InboundAlert, result: IntakeResult) -> None:
    rows = AlertRecord.objects.select_for_update(of=("self",), no_key=True).select_related("incident")
    rows = rows.filter(fingerprint=alert.fingerprint, status=AlertStatus.FIRING, incident__closed_at__isnull=True)
    if incident is not None:
        rows = rows.filter(incident=incident)
    row = rows.order_by("-pk").first()
    if row is None:
        if inbox_resolve(alert=alert):
            result.resolved += 1
        else:
            result.ignored += 1  # resolved, and never seen firing: nothing to keep
        return
    row.status, row.ends_at, row.last_seen_at = AlertStatus.RESOLVED, alert.ends_at or timezone.now(), timezone.now()
    row.save(update_fields=["status", "ends_at", "last_seen_at"])
    result.resolved += 1
    result.incident = result.incident or row.incident
    record(
        row.incident,
        "alert.resolved",
        by=None,
        system_actor=SYSTEM,
        payload={
            "source": batch.source,
            "name": row.name,
            "fingerprint": row.fingerprint,
            "ends_at": row.ends_at.isoformat() if row.ends_at else None,
        },
    )


def _reopen_if_new(incident: Incident, firing: list[InboundAlert], result: IntakeResult) -> Incident:
    """A resolved incident goes back to investigating when an alert starts firing on it again.

    The rule (docs/alerts.md): an alert new to the incident, or one that had resolved,
    reopens it; repeats of an alert that never stopped firing do not (Alertmanager
    resends those every repeat interval). A closed incident is never reopened: the
    alert opens a new one.
    """
    still = set(
        AlertRecord.objects.filter(incident=incident, status=AlertStatus.FIRING).values_list("fingerprint", flat=True)
    )
    fresh = [a for a in firing if a.fingerprint not in still]
    if not fresh:
        return incident
    names = ", ".join(sorted({a.name or a.fingerprint for a in fresh}))[:200]
    incident = incident_transition(
        incident=incident,
        to=IncidentStatus.INVESTIGATING,
        by=None,
        system_actor=SYSTEM,
        reason=f"Reopened: alert firing again after the incident was resolved ({names}).",
    )
    notify(event="reopened", incident=incident, extra={"alerts": sorted({a.fingerprint for a in fresh})})
    result.reopened = True
    return incident


@transaction.atomic
def alerts_ingest(*, batch: InboundBatch) -> IntakeResult:
    """Apply one parsed payload: open or update an incident, record firing and resolved alerts."""
    _lock_group(batch.group_key)
    result = IntakeResult()
    estate = list(Asset.objects.all())
    mappings = list(AlertMapping.objects.select_related("asset"))
    firing = [a for a in batch.alerts if a.status == AlertStatus.FIRING]
    matched = {a.fingerprint: assets_matching(a.labels, estate, mappings) for a in firing}
    incident = _open_incident_for(batch)
    if incident is None:
        with_assets = [a for a in firing if matched[a.fingerprint]]
        if with_assets:
            union = list({asset.pk: asset for a in with_assets for asset in matched[a.fingerprint]}.values())
            incident = _declare(batch, with_assets, union)
            result.created = True
        applied = with_assets
    else:
        applied = firing
    if incident is not None:
        incident = lock(incident)
        result.incident = incident
        if incident.status == IncidentStatus.RESOLVED:
            incident = _reopen_if_new(incident, applied, result)
        for alert in applied:
            _upsert(incident, batch, alert, matched[alert.fingerprint], result)
        if not result.created and applied and incident.is_open:
            union = list({asset.pk: asset for a in applied for asset in matched[a.fingerprint]}.values())
            if union:
                incident_add_assets(
                    incident=incident, assets=union, by=None, source=AssetSource.ALERT, system_actor=SYSTEM
                )
            severity, rule = _most_severe(applied)
            if more_severe(severity, incident.severity):
                incident_set_severity(incident=incident, severity=severity, rule=rule, by=None, system_actor=SYSTEM)
    # Alerts about nothing we know wait in the inbox for a commander.
    placed = {a.fingerprint for a in applied}
    for alert in firing:
        if alert.fingerprint not in placed:
            inbox_keep(batch=batch, alert=alert)
            result.inbox += 1
    for alert in batch.alerts:
        if alert.status == AlertStatus.RESOLVED:
            _resolve(incident, batch, alert, result)
    result.truncated = batch.truncated
    if batch.truncated and result.incident is not None:
        record(
            result.incident,
            "alert.group_truncated",
            by=None,
            system_actor=SYSTEM,
            payload={
                "source": batch.source,
                "kept": len(batch.alerts),
                "truncated": batch.truncated,
                "group_key": batch.group_key,
            },
        )
    return result
