"""Drills on demand (CI/CD): a drill incident plus a drill-mode run for named assets or a plan, and its progress.

A drill started this way is an ordinary drill: the incident of kind drill and the
run go through `drill_start` and `run_start`, so the run is restored into an
isolated target, verified, measured (achieved RTO/RPO) and cleaned up like any
other, and the asset's recovery record feeds readiness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.runs.models import RUN_FINISHED, Mode, RecoveryRun, RunStatus, StepRun
from incidents.runs.services import run_start
from incidents.services.drills import drill_start
from inventory.models import Asset, RecoveryPlan, StepKind
from inventory.services import plan_default_data, plan_save

# The prefix of the plans made for drills of assets that no plan was named for.
DRILL_PLAN_PREFIX = "Drill: "


@dataclass(frozen=True)
class DrillTargets:
    """What a list of names stands for: the assets to drill, and the plan when one was named alone."""

    assets: list[Asset]
    plan: RecoveryPlan | None


def drill_targets_resolve(*, names: Sequence[str]) -> DrillTargets:
    """Each name is an asset or a recovery plan (a plan stands for its assets); unknown names are bad input."""
    unknown: list[str] = []
    assets: dict[int, Asset] = {}
    plans: list[RecoveryPlan] = []
    for name in dict.fromkeys(n.strip() for n in names):
        asset = Asset.objects.filter(name=name).first()
        plan = None if asset else RecoveryPlan.objects.filter(name=name).prefetch_related("assets").first()
        if asset is not None:
            assets[asset.pk] = asset
        elif plan is not None:
            plans.append(plan)
            assets.update({a.pk: a for a in plan.assets.all()})
        else:
            unknown.append(name)
    if unknown:
        raise ValidationError({"assets": [f"No asset or recovery plan is named {name!r}." for name in unknown]})
    if not assets:
        raise ValidationError({"assets": ["Name at least one asset, or a recovery plan with assets."]})
    only_plan = plans[0] if len(plans) == 1 and len(assets) == plans[0].assets.count() else None
    return DrillTargets(assets=sorted(assets.values(), key=lambda a: a.name), plan=only_plan)


def _drill_plan(*, assets: Sequence[Asset], by: User) -> RecoveryPlan:
    """The plan a drill of these assets follows: restore and verify in dependency order, kept for the next drill.

    Failover steps are left out: they always wait for people (the plan_failover_needs_approval constraint),
    and a drill nobody named a plan for must be able to finish unattended. Name a plan
    to drill failovers.
    """
    names = [a.name for a in assets]
    label = DRILL_PLAN_PREFIX + ", ".join(names)
    if len(label) > 100:  # plan names are 100 characters: keep them apart by a digest
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]
        label = f"{label[:85]}… {digest}"
    existing = RecoveryPlan.objects.filter(name=label).prefetch_related("assets").first()
    if existing is not None and {a.pk for a in existing.assets.all()} == {a.pk for a in assets}:
        return existing
    data = plan_default_data(assets=assets, name=label)
    data["steps"] = [step for step in data["steps"] if step["kind"] != StepKind.FAILOVER]
    for step in data["steps"]:
        if step["kind"] == StepKind.NOTIFY:  # it followed the failovers, if there were any
            step["after"] = [f"verify-{name}" for name in names]
    data["description"] = "Made for drills started through the API (manage.py drill): restore and verify."
    return plan_save(data=data, by=by, plan=existing)


@transaction.atomic
def drill_run_start(*, names: Sequence[str], scenario: str, by: User) -> RecoveryRun:
    """Open a drill for the named assets or plan and start its drill-mode run; all or nothing.

    Refusals come from the services it calls (`IncidentRefused`, `RunRefused`: no good
    point, an asset held by another run…) and leave nothing behind.
    """
    targets = drill_targets_resolve(names=names)
    plan = targets.plan or _drill_plan(assets=targets.assets, by=by)
    incident = drill_start(assets=targets.assets, scenario=scenario, by=by, commander=by)
    return run_start(plan=plan, mode=Mode.DRILL, by=by, incident=incident)


@dataclass(frozen=True)
class DrillProgress:
    """A drill run as a CI job sees it: where it is, how long it has taken, and each step."""

    run: RecoveryRun
    steps: list[StepRun]
    finished: bool
    passed: bool | None
    elapsed_seconds: int


def drill_progress(*, run: RecoveryRun) -> DrillProgress:
    """The run's state now; `elapsed_seconds` is the portal's clock since the drill began (the RTO clock)."""
    steps = list(run.steps.select_related("asset").order_by("position"))
    finished = run.status in RUN_FINISHED
    end = run.service_verified_at or run.finished_at or timezone.now()
    return DrillProgress(
        run=run,
        steps=steps,
        finished=finished,
        passed=(run.status == RunStatus.SUCCEEDED) if finished else None,
        elapsed_seconds=max(0, int((end - run.outage_started_at).total_seconds())),
    )
