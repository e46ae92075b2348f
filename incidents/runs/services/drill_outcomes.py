"""A drill's recovery run, when it ends, records each asset's drill outcome on the drill, as a person does on its page.

Whoever started the drill (the drills page, a schedule, `manage.py drill` or the API),
the outcome is filed through the same service: passed when the run succeeded within the
asset's RTO target, failed otherwise, with the run's reference and measurement as evidence.
An outcome a person already recorded is left as it is; a cancelled run proves nothing.
"""

from __future__ import annotations

from datetime import timedelta

from incidents.models import DrillOutcome, IncidentAsset, IncidentKind
from incidents.runs.models import Mode, RecoveryRun, RunStatus
from incidents.services.drills import drill_outcome_record
from inventory.models import Asset
from inventory.readiness import human_duration


def _judged(run: RecoveryRun, asset: Asset) -> tuple[str, str]:
    target = asset.policy.rto_minutes * 60 if asset.policy else None
    achieved = run.achieved_rto_seconds
    if run.status != RunStatus.SUCCEEDED:
        why = f": {run.error}" if run.error else ""
        return DrillOutcome.FAILED, f"recovery run {run.reference} {run.get_status_display().lower()}{why}"
    rto = human_duration(timedelta(seconds=achieved or 0))
    if target is not None and achieved is not None and achieved > target:
        limit = human_duration(timedelta(seconds=target))
        return DrillOutcome.FAILED, f"recovery run {run.reference} succeeded but took {rto}, over the {limit} RTO"
    within = f" within the {human_duration(timedelta(seconds=target))} RTO" if target is not None else ""
    return DrillOutcome.PASSED, f"recovery run {run.reference} succeeded, RTO {rto}{within}"


def run_drill_outcomes(run: RecoveryRun) -> int:
    """Record the outcome of each of the run's assets on its open drill; how many were recorded."""
    if run.mode != Mode.DRILL or run.status == RunStatus.CANCELLED or run.incident_id is None:
        return 0
    incident = run.incident
    if incident is None or incident.kind != IncidentKind.DRILL or incident.is_closed:
        return 0
    links = (
        IncidentAsset.objects.filter(incident=incident, asset__in=run.assets.all(), drill_outcome="")
        .select_related("asset__policy")
        .order_by("asset__name")
    )
    count = 0
    for link in links:
        outcome, evidence = _judged(run, link.asset)
        drill_outcome_record(
            incident=incident,
            asset=link.asset,
            outcome=outcome,
            evidence=evidence,
            by=run.requested_by,
            system_actor="system:runs",
            drill_clock=False,  # the run moved the drill clock itself when it measured the asset
        )
        count += 1
    return count
