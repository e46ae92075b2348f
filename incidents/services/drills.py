"""Drills: incidents of kind drill, started by hand or by beat following each asset's drill cadence.

A drill's per-asset outcome feeds readiness through inventory's
`asset_drill_record`, which sets `Asset.last_drill_at` (the readiness drill check).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import (
    AssetSource,
    Category,
    DetectionSource,
    DrillOutcome,
    DrillSchedule,
    Incident,
    IncidentAsset,
    IncidentKind,
    Severity,
)
from incidents.selectors import drill_due_at
from incidents.services.common import IncidentRefused, lock, record, refuse_if_closed
from incidents.services.lifecycle import incident_declare
from inventory.models import Asset
from inventory.services import asset_drill_record

DRILL_SEVERITY_RULE = "Rule: drills are SEV4; nothing is really down."


def drill_start(
    *,
    assets: Sequence[Asset],
    scenario: str,
    by: User | None,
    system_actor: str = "",
    source: str = DetectionSource.MANUAL,
    commander: User | None = None,
) -> Incident:
    if not assets:
        raise IncidentRefused("Choose at least one asset to drill.")
    names = ", ".join(a.name for a in assets[:3]) + (f" and {len(assets) - 3} more" if len(assets) > 3 else "")
    return incident_declare(
        title=f"Drill: {names}",
        category=Category.AVAILABILITY,
        kind=IncidentKind.DRILL,
        severity=Severity.SEV4,
        severity_rule=DRILL_SEVERITY_RULE,
        summary=scenario.strip(),
        assets=assets,
        asset_source=AssetSource.SCHEDULE if source == DetectionSource.DRILL_SCHEDULE else AssetSource.DECLARED,
        source=source,
        by=by,
        system_actor=system_actor,
        commander=commander,
    )


@transaction.atomic
def drill_outcome_record(
    *,
    incident: Incident,
    asset: Asset,
    outcome: str,
    evidence: str,
    by: User | None,
    system_actor: str = "",
    drill_clock: bool = True,
) -> IncidentAsset:
    """Record how the drill went for one asset; a pass counts as the asset's newest successful drill.

    A drill's own recovery run records it too (``by`` its requester, or a system actor), with
    ``drill_clock=False``: the run has already moved the asset's drill clock when it measured it.
    """
    locked = lock(incident)
    if locked.kind != IncidentKind.DRILL:
        raise IncidentRefused(f"{locked.reference} is not a drill.")
    refuse_if_closed(locked, "its outcomes are final")
    if outcome not in (DrillOutcome.PASSED, DrillOutcome.FAILED):
        raise IncidentRefused("A drill outcome is passed or failed.")
    if not evidence.strip():
        raise IncidentRefused("Say what showed the outcome (a run, a check, a measurement).")
    link = IncidentAsset.objects.select_for_update(no_key=True).filter(incident=locked, asset=asset).first()
    if link is None:
        raise IncidentRefused(f"{asset.name} is not part of {locked.reference}.")
    now = timezone.now()
    link.drill_outcome, link.drill_evidence, link.drill_recorded_at = outcome, evidence.strip(), now
    link.save(update_fields=["drill_outcome", "drill_evidence", "drill_recorded_at"])
    record(
        locked,
        "drill.outcome_recorded",
        by=by,
        system_actor=system_actor,
        payload={"asset": asset.name, "outcome": outcome, "evidence": link.drill_evidence},
    )
    if outcome == DrillOutcome.PASSED and drill_clock:
        asset_drill_record(asset=asset, drilled_at=now, evidence=f"{locked.reference}: {link.drill_evidence}", by=by)
    return link


@transaction.atomic
def drill_schedule_set(*, asset: Asset, enabled: bool, scenario: str, by: User) -> DrillSchedule:
    if enabled and asset.policy is None:
        raise IncidentRefused(f"{asset.name} has no recovery policy, so there is no drill cadence to follow.")
    schedule, created = DrillSchedule.objects.select_for_update(no_key=True).get_or_create(
        asset=asset, defaults={"enabled": enabled, "created_by": by}
    )
    schedule.enabled = enabled
    if scenario.strip():
        schedule.scenario = scenario.strip()
    schedule.save(update_fields=["enabled", "scenario"])
    from dr_portal.audit.services import audit_append

    audit_append(
        action="drill.schedule_set",
        actor=by,
        obj=asset,
        payload={"enabled": enabled, "scenario": schedule.scenario, "created": created},
    )
    return schedule


def drills_open_due(*, now: datetime | None = None) -> list[Incident]:
    """Open a drill for every scheduled asset that is due and has none open (beat calls this)."""
    now = now or timezone.now()
    opened: list[Incident] = []
    # One read of the schedules, no locks; only a due one gets its locking transaction.
    schedules = DrillSchedule.objects.filter(enabled=True, asset__policy__isnull=False).select_related("asset__policy")
    due_ids = []
    for schedule in schedules.only(
        "pk",
        "last_opened_at",
        "asset__last_drill_at",
        "asset__policy_assigned_at",
        "asset__created_at",
        "asset__policy__drill_cadence_days",
    ):
        due = drill_due_at(schedule.asset)
        if due is not None and now >= due and (schedule.last_opened_at is None or schedule.last_opened_at < due):
            due_ids.append(schedule.pk)
    for pk in due_ids:
        incident = _open_if_due(schedule_id=pk, now=now)
        if incident is not None:
            opened.append(incident)
    return opened


@transaction.atomic
def _open_if_due(*, schedule_id: int, now: datetime) -> Incident | None:
    schedule = (
        DrillSchedule.objects.select_for_update(of=("self",), no_key=True)
        .select_related("asset__policy")
        .get(pk=schedule_id)
    )
    due = drill_due_at(schedule.asset)
    if not schedule.enabled or due is None or now < due:
        return None
    # One drill per due date: a failed drill does not reopen itself every hour.
    if schedule.last_opened_at is not None and schedule.last_opened_at >= due:
        return None
    if Incident.objects.open().drills().filter(assets=schedule.asset).exists():
        return None
    incident = drill_start(
        assets=[schedule.asset],
        scenario=schedule.scenario,
        by=None,
        system_actor="system:drills",
        source=DetectionSource.DRILL_SCHEDULE,
    )
    schedule.last_opened_at = now
    schedule.save(update_fields=["last_opened_at"])
    return incident
