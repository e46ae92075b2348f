"""Golden checks of a run's restored models, done in the verifying phase (outside any lock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incidents.runs.golden.services import golden_check, golden_set_for
from incidents.runs.models import RecoveryRun, StepState
from inventory.models import StepKind


def run_golden_checks(run: RecoveryRun) -> dict[int, dict[str, Any]]:
    """Asset id → {passed, detail, evidence} for each restored asset that has a golden set."""
    results: dict[int, dict[str, Any]] = {}
    restores = run.steps.filter(kind=StepKind.RESTORE, state=StepState.SUCCEEDED).select_related("asset", "point")
    for step in restores.order_by("position"):
        if step.asset is None or step.point is None or step.target_config:  # a system, not a folder
            continue
        golden = golden_set_for(step.asset, taken_at=step.point.created_at)
        if golden is None:
            continue
        result = golden_check(golden=golden, root=Path(step.target_path))
        results[step.asset.pk] = {
            "asset": step.asset.name,
            "passed": result.ok,
            "detail": result.detail,
            "evidence": result.evidence,
        }
    return results


def run_route_rechecks(run: RecoveryRun) -> dict[int, dict[str, Any]]:
    """Asset id → the route read again at the end of the run, with a smoke check through it."""
    from incidents.runs.drivers.steps import route_recheck

    results: dict[int, dict[str, Any]] = {}
    switches = run.steps.filter(kind__in=[StepKind.FAILOVER, StepKind.DEGRADE], state=StepState.SUCCEEDED)
    for step in switches.select_related("asset", "run").order_by("position"):
        result = route_recheck(step)
        if result is not None and step.asset_id is not None:
            results[step.asset_id] = result
    return results
