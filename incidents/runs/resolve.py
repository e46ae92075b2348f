"""Turn a plan's steps into exactly what a run would do: which point, which target, which region.

Used by the dry run (to show it) and by `run_start` (to freeze it into step rows),
so what an approver reads is what a worker does. Every reason a run cannot start
is collected as a sentence rather than raised one at a time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from django.conf import settings

from incidents.runs.models import Mode, RecoveryRun, StepRun, StepState
from incidents.runs.targets import drill_root, restore_target
from inventory import connector_io
from inventory.connectors import ConnectorError
from inventory.models import Asset, PlanStep, RecoveryPlan, RecoveryPoint, StepKind
from inventory.paths import portal_overlap_refusal
from inventory.readiness import human_duration
from inventory.vault_io import restore_space_problem
from inventory.verification.forecast import RtoForecast, approval_waits, forecasts_for, vault_throughputs

MiB = 1024 * 1024
STEP_OVERHEAD_SECONDS = 2  # dispatch and bookkeeping per step, measured roughly on a quiet worker


@dataclass
class ResolvedStep:
    plan_step: PlanStep
    asset: Asset | None
    point: RecoveryPoint | None = None
    target_path: str = ""
    target_region: str = ""
    target_config: dict[str, Any] = field(default_factory=dict)
    bytes: int = 0
    forecast_seconds: float = 0.0
    members: list[Asset] = field(default_factory=list)


@dataclass
class Resolution:
    plan: RecoveryPlan
    mode: str
    steps: list[ResolvedStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    throughput_bps: float = 0.0
    throughput_measured: bool = False
    throughput_samples: int = 0
    approval_wait_seconds: float | None = None  # the median wait of completed runs; None: none measured
    approval_samples: int = 0
    # Each figure of the forecast and what it stands on, in words (the page and the API show them).
    basis: list[str] = field(default_factory=list)

    @property
    def bytes_total(self) -> int:
        return sum(s.bytes for s in self.steps if s.plan_step.kind == StepKind.RESTORE)

    @property
    def forecast_seconds(self) -> float:
        groups: dict[int, float] = {}
        for step in self.steps:
            group = step.plan_step.group
            groups[group] = max(groups.get(group, 0.0), step.forecast_seconds)
        return sum(groups.values())

    @property
    def rto_target_seconds(self) -> int | None:
        targets = [a.policy.rto_minutes * 60 for a in self.assets if a.policy]
        return min(targets) if targets else None

    @property
    def assets(self) -> list[Asset]:
        """Every asset the run touches: a consistency group's members too, so the run holds them all."""
        seen = {s.asset.pk: s.asset for s in self.steps if s.asset is not None}
        seen.update({m.pk: m for s in self.steps for m in s.members})
        return sorted(seen.values(), key=lambda a: a.name)

    @cached_property
    def rto_forecasts(self) -> list[tuple[Asset, RtoForecast]]:
        """Each asset's chance of meeting its RTO, from its measured restores (inventory.verification)."""
        found = forecasts_for(assets=self.assets, approvals_needed=self.approvals > 0)
        return [(asset, found[asset.pk]) for asset in self.assets]

    @property
    def approvals(self) -> int:
        return sum(1 for s in self.steps if s.plan_step.requires_approval)


def measured_throughput(*, samples: int = 20) -> tuple[float, int]:
    """Median restore rate (bytes/s) of recent successful restores of at least 1 MiB; (0, 0) with none."""
    found = list(
        StepRun.objects.filter(
            kind=StepKind.RESTORE, state=StepState.SUCCEEDED, bytes_total__gte=MiB, rate_bps__isnull=False
        )
        .order_by("-finished_at")
        .values_list("rate_bps", flat=True)[:samples]
    )
    rates = [r for r in found if r is not None]
    return (statistics.median(rates), len(rates)) if rates else (0.0, 0)


def _good_point(asset: Asset, wanted: str) -> RecoveryPoint | None:
    points = RecoveryPoint.objects.good().filter(asset=asset).select_related("vault")
    if wanted == "latest":
        return points.order_by("-data_as_of").first()
    return points.filter(public_id=wanted).first() if _is_uuid(wanted) else None


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def resolve(*, plan: RecoveryPlan, mode: str, run: RecoveryRun | None = None) -> Resolution:
    """What `plan` would do in `mode`; pass the unsaved `run` to get its real drill folder."""
    result = Resolution(plan=plan, mode=mode)
    measured, count = measured_throughput()
    result.throughput_measured = count > 0
    result.throughput_samples = count
    result.throughput_bps = measured or settings.RUN_FORECAST_FALLBACK_MIBPS * MiB
    rates = _VaultRates(result)
    probe = run or RecoveryRun(plan=plan, mode=mode)
    restored: dict[int, ResolvedStep] = {}
    steps = list(plan.steps.select_related("asset", "asset__policy").order_by("position"))
    if not steps:
        result.problems.append("The plan has no steps.")
    for plan_step in steps:
        item = ResolvedStep(plan_step=plan_step, asset=plan_step.asset)
        asset = plan_step.asset
        if plan_step.kind == StepKind.RESTORE and asset is not None:
            wanted = str(plan_step.params.get("point", "latest"))
            item.point = _good_point(asset, wanted)
            if item.point is None:
                result.problems.append(
                    f"{asset.name} has no good (ok) recovery point to restore from; back it up first."
                    if wanted == "latest"
                    else f"{asset.name}: recovery point {wanted} is not a good point of this asset."
                )
            target = str(plan_step.params.get("target", "original"))
            if target == "alternate" and not asset.alternate_region:
                result.problems.append(f"{asset.name} has no alternate region to restore into.")
            item.target_path, item.target_region = restore_target(run=probe, asset=asset, target=target)
            if connector_io.has_connector(asset):
                _connector_target(item, asset=asset, run=probe, problems=result.problems)
            elif not item.target_path.startswith("/"):
                result.problems.append(
                    f"{asset.name}: only local folders can be restored into, not {item.target_path}."
                )
            elif why := portal_overlap_refusal(item.target_path):
                result.problems.append(f"{asset.name}: {why}")
            allowed = asset.policy.allowed_regions if asset.policy else []
            if allowed and item.target_region not in allowed:
                result.problems.append(
                    f"Restoring {asset.name} into {item.target_region or 'an unknown region'} is refused: "
                    f"its policy allows only {', '.join(allowed)}."
                )
            item.bytes = item.point.size_bytes if item.point else 0
            if item.bytes and item.target_path.startswith("/") and not connector_io.has_connector(asset):
                # Before a byte moves: a restore that cannot fit is a problem of the plan, not a surprise.
                space = restore_space_problem(size_bytes=item.bytes, target_dir=Path(item.target_path), what=asset.name)
                if space:
                    result.problems.append(space)
            rate = rates.of(item.point) if item.point else result.throughput_bps
            item.forecast_seconds = item.bytes / rate + STEP_OVERHEAD_SECONDS
            restored[asset.pk] = item
        elif plan_step.kind in (StepKind.VERIFY, StepKind.SMOKE) and asset is not None:
            source = restored.get(asset.pk)
            if source is not None:
                item.point, item.target_path, item.target_region = (
                    source.point,
                    source.target_path,
                    source.target_region,
                )
                item.target_config = source.target_config
            elif plan_step.kind == StepKind.VERIFY:
                item.point = _good_point(asset, "latest")
                item.target_path, item.target_region = asset.source_uri, asset.region
                if connector_io.has_connector(asset):
                    _connector_own_target(item, asset=asset, problems=result.problems)
                if item.point is None:
                    result.problems.append(f"{asset.name} has no good recovery point to verify against.")
            else:
                item.target_path, item.target_region = asset.source_uri, asset.region
            if plan_step.kind == StepKind.VERIFY:
                item.bytes = item.point.size_bytes if item.point else 0
                rate = rates.of(item.point) if item.point else result.throughput_bps
                item.forecast_seconds = item.bytes / (2 * rate) + STEP_OVERHEAD_SECONDS
            else:
                item.forecast_seconds = STEP_OVERHEAD_SECONDS
        elif plan_step.kind == StepKind.FAILOVER and asset is not None:
            item.target_region = asset.region if mode == Mode.FAILBACK else asset.alternate_region
            source = restored.get(asset.pk)
            item.point = source.point if source else _good_point(asset, "latest")  # the data it will serve
            item.forecast_seconds = STEP_OVERHEAD_SECONDS
        elif plan_step.kind == StepKind.WAIT:
            item.forecast_seconds = float(plan_step.params.get("seconds", 0)) + STEP_OVERHEAD_SECONDS
        else:
            item.forecast_seconds = STEP_OVERHEAD_SECONDS
        result.steps.append(item)
    _add_approval_waits(result)
    result.basis.append(f"{STEP_OVERHEAD_SECONDS} s per step for dispatch and bookkeeping; steps in one group overlap.")
    return result


class _VaultRates:
    """Restore throughput per vault, as the RTO forecast models it (inventory.verification.forecast)."""

    def __init__(self, result: Resolution) -> None:
        self.result = result
        self.seen: dict[int, float] = {}

    def of(self, point: RecoveryPoint) -> float:
        vault = point.vault
        if vault.pk not in self.seen:
            samples = vault_throughputs(vault_ids=[vault.pk])[vault.pk]
            if samples:
                rate = statistics.median(samples)
                why = f"the median of the newest {len(samples)} restore(s) from vault {vault.name}"
            elif self.result.throughput_measured:
                rate = self.result.throughput_bps
                why = (
                    f"no restore from vault {vault.name} timed yet: the median of the last "
                    f"{self.result.throughput_samples} restore(s) from any vault"
                )
            else:
                rate = self.result.throughput_bps
                why = ""
            self.seen[vault.pk] = rate
            self.result.basis.append(
                f"Transfer from vault {vault.name} at {rate / MiB:.1f} MiB/s ({why})."
                if why
                else f"No restore has been measured yet, so transfer from vault {vault.name} assumes "
                f"{rate / MiB:.1f} MiB/s (the fallback RUN_FORECAST_FALLBACK_MIBPS, not a measurement)."
            )
        return self.seen[vault.pk]


def _add_approval_waits(result: Resolution) -> None:
    """A run that asks for approvals also waits for people: the median time completed runs that asked waited
    (a run's waits, overlaps counted once), put on its first step that asks."""
    asking = [s for s in result.steps if s.plan_step.requires_approval]
    if not asking:
        result.basis.append("No step asks for approval: no wait for people in the figure.")
        return
    waits = approval_waits()
    result.approval_samples = len(waits)
    if not waits:
        result.basis.append(
            f"{len(asking)} step(s) wait for approval, but no completed run has waited for one yet: "
            "the wait is not in the figure."
        )
        return
    wait = statistics.median(waits)
    result.approval_wait_seconds = wait
    asking[0].forecast_seconds += wait
    result.basis.append(
        f"{len(asking)} step(s) wait for approval: {human_duration(timedelta(seconds=wait))} in all, the median "
        f"time the last {len(waits)} completed run(s) that asked waited for their approvals."
    )


def _connector_target(item: ResolvedStep, *, asset: Asset, run: RecoveryRun, problems: list[str]) -> None:
    """Where a restore of an asset with a connector goes: a scratch system in a drill, else its own
    (only with replace) or the step's target_config."""
    params = item.plan_step.params
    try:
        item.target_config, item.target_path = connector_io.run_target(
            asset=asset,
            drill=run.mode == Mode.DRILL,
            drill_dir=drill_root(run) / asset.name,
            tag=run.public_id.hex[:12],
            alternate=params.get("target") == "alternate",
            override=dict(params.get("target_config") or {}),
        )
    except ConnectorError as exc:
        problems.append(str(exc))
        return
    item.members = connector_io.group_members(asset)
    if item.point is not None and "capture" not in ((item.point.manifest or {}).get("extra") or {}):
        problems.append(
            f"{asset.name}: recovery point {item.point.public_id} holds files only, not a {asset.connector} capture; "
            "back it up again through its connector."
        )


def _connector_own_target(item: ResolvedStep, *, asset: Asset, problems: list[str]) -> None:
    """A verify with no restore before it checks the asset's own system against its newest point."""
    try:
        item.target_config, item.target_path = connector_io.run_target(
            asset=asset, drill=False, drill_dir=Path(), tag="", alternate=False, override={}
        )
    except ConnectorError as exc:
        problems.append(str(exc))
