"""Recovery plans: parse and check a plan's steps, save them, and generate a default plan.

A plan is written as a list of steps, each naming the steps it comes `after`.
Groups are derived from that: a step runs in the group after the latest of
the steps it waits for, so steps in one group never depend on each other and
may run in parallel. A plan that waits in a circle, names an asset that does
not exist or a check nobody registered is refused with a sentence per fault.
No step kind runs a command: the kinds are a closed list, each with fixed
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from dr_portal.accounts.models import Role, User
from dr_portal.audit.services import audit_append
from inventory.models import ASSET_STEP_KINDS, Asset, PlanStep, RecoveryPlan, StepKind
from inventory.services.plan_params import (
    APPROVER_ROLES,
    DEFAULT_TIMEOUT,
    PARAMS,
    STEP_FIELDS,
    check_step_params,
    whole_number,
)


@dataclass
class StepSpec:
    key: str
    title: str
    kind: str
    asset: Asset | None
    after: list[str]
    critical: bool
    timeout_seconds: int
    requires_approval: bool
    approval_role: str
    approval_quorum: int
    params: dict[str, Any]
    group: int = 0


@dataclass
class PlanSpec:
    name: str
    description: str
    assets: list[Asset]
    steps: list[StepSpec] = field(default_factory=list)


def _find_cycle(after: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A list of keys that wait on each other in a circle, first key repeated at the end; or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    trail: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        trail.append(key)
        for before in after.get(key, ()):
            if state.get(before) == 1:
                return [*trail[trail.index(before) :], before]
            if state.get(before) is None and before in after:
                found = visit(before)
                if found:
                    return found
        trail.pop()
        state[key] = 2
        return None

    for key in after:
        if key not in state:
            found = visit(key)
            if found:
                return found
    return None


def plan_parse(data: Mapping[str, Any]) -> PlanSpec:
    """Check a plan given as plain data (from the form's YAML or the API's JSON); raise ValidationError."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ValidationError({"steps": ["A plan is a mapping with name, assets and steps."]})
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append("The plan needs a name.")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ValidationError({"steps": [*errors, "The plan needs a list of steps."]})
    named = [s.get("asset") for s in raw_steps if isinstance(s, Mapping) and s.get("asset")]
    asset_names = [str(a) for a in data.get("assets") or []]
    by_name = {
        a.name: a for a in Asset.objects.filter(name__in=[*asset_names, *map(str, named)]).select_related("policy")
    }
    for missing in sorted(set(asset_names) - set(by_name)):
        errors.append(f"The plan lists an asset that does not exist: {missing!r}.")
    steps: list[StepSpec] = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_steps, start=1):
        if not isinstance(raw, Mapping):
            errors.append(f"Step {index} is not a mapping.")
            continue
        kind = str(raw.get("kind", ""))
        key = str(raw.get("key") or "")
        where = f"Step {index} ({key or kind or '?'})"
        unknown = sorted(set(raw) - STEP_FIELDS)
        if unknown:
            errors.append(f"{where}: unknown field {unknown[0]!r}.")
        if kind not in StepKind.values:
            errors.append(f"{where}: unknown kind {kind!r}; use one of {', '.join(StepKind.values)}.")
            continue
        if not key or slugify(key) != key:
            errors.append(f"{where}: key must be a short slug such as restore-model.")
        elif key in keys:
            errors.append(f"{where}: the key {key!r} is used twice.")
        keys.add(key)
        params = {k: raw[k] for k in PARAMS[kind] if k in raw}
        stray = sorted(k for k in set(raw) & set().union(*PARAMS.values()) if k not in PARAMS[kind])
        if stray:
            errors.append(f"{where}: {stray[0]!r} does not apply to a {kind} step.")
        check_step_params(kind, params, where, errors)
        asset: Asset | None = None
        if raw.get("asset"):
            asset = by_name.get(str(raw["asset"]))
            if asset is None:
                errors.append(f"{where}: unknown asset {raw['asset']!r}.")
        elif kind in ASSET_STEP_KINDS or (kind == StepKind.SMOKE and "check" in params):
            errors.append(f"{where}: a {kind} step must name its asset.")
        if kind == StepKind.FAILOVER and asset is not None and not asset.alternate_region:
            errors.append(f"{where}: {asset.name} has no alternate region to fail over to.")
        after = raw.get("after") or []
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            errors.append(f"{where}: after is a list of step keys.")
            after = []
        approval = raw.get("approval")
        role, quorum = "", 0
        if approval is not None:
            if not isinstance(approval, Mapping):
                errors.append(f"{where}: approval is a mapping with role and quorum.")
            else:
                role = str(approval.get("role") or Role.ONCALL_ENGINEER)
                quorum = whole_number(approval.get("quorum", 1), f"{where}: approval quorum", errors, minimum=1)
                if role not in APPROVER_ROLES:
                    errors.append(f"{where}: approvals come from {', '.join(APPROVER_ROLES)}, not {role!r}.")
        if kind == StepKind.FAILOVER:
            # Always gated, and never by fewer people than the asset's policy asks for.
            needed = asset.policy.failover_quorum if asset is not None and asset.policy else 1
            role = role or Role.ONCALL_ENGINEER
            quorum = max(quorum, needed)
        if "force" in params and not isinstance(params["force"], bool):
            errors.append(f"{where}: force is true or false.")
        elif params.get("force") and not quorum:
            errors.append(f"{where}: force switches to a route that fails its health check, so it needs an approval.")
        timeout = raw.get("timeout", DEFAULT_TIMEOUT[StepKind(kind)])
        critical = raw.get("critical", True)
        if not isinstance(critical, bool):
            errors.append(f"{where}: critical is true or false.")
            critical = True
        steps.append(
            StepSpec(
                key=key,
                title=str(raw.get("title") or _default_title(kind, asset))[:200],
                kind=kind,
                asset=asset,
                after=list(after),
                critical=critical,
                timeout_seconds=whole_number(timeout, f"{where}: timeout", errors, minimum=1),
                requires_approval=quorum > 0,
                approval_role=role if quorum else "",
                approval_quorum=quorum,
                params=params,
            )
        )
    for step in steps:
        for before in step.after:
            if before not in keys:
                errors.append(f"Step {step.key}: waits for {before!r}, which is not a step of this plan.")
            if before == step.key:
                errors.append(f"Step {step.key}: cannot wait for itself.")
    if not errors:
        cycle = _find_cycle({s.key: s.after for s in steps})
        if cycle:
            errors.append(f"The steps wait for each other in a circle: {' → '.join(cycle)}.")
    if errors:
        raise ValidationError({"steps": errors})
    _assign_groups(steps)
    assets = {a.pk: a for a in [by_name[n] for n in asset_names] + [s.asset for s in steps if s.asset]}
    return PlanSpec(
        name=name[:100],
        description=str(data.get("description") or ""),
        assets=sorted(assets.values(), key=lambda a: a.name),
        steps=sorted(steps, key=lambda s: s.group),
    )


def _default_title(kind: str, asset: Asset | None) -> str:
    label = StepKind(kind).label
    return f"{label} {asset.name}" if asset else label


def _assign_groups(steps: list[StepSpec]) -> None:
    by_key = {s.key: s for s in steps}

    def group(step: StepSpec) -> int:
        if not step.group:
            step.group = 1 + max((group(by_key[b]) for b in step.after), default=0)
        return step.group

    for step in steps:
        group(step)


def plan_to_data(plan: RecoveryPlan) -> dict[str, Any]:
    """The plan as plain data, in the shape `plan_parse` reads (for the editor and the API)."""
    steps = []
    for step in plan.steps.select_related("asset").order_by("position"):
        row: dict[str, Any] = {"key": step.key, "kind": step.kind, "title": step.title}
        if step.asset:
            row["asset"] = step.asset.name
        if step.after:
            row["after"] = list(step.after)
        if not step.critical:
            row["critical"] = False
        if step.timeout_seconds != DEFAULT_TIMEOUT[StepKind(step.kind)]:
            row["timeout"] = step.timeout_seconds
        if step.requires_approval:
            row["approval"] = {"role": step.approval_role, "quorum": step.approval_quorum}
        row.update(step.params)
        steps.append(row)
    return {
        "name": plan.name,
        "description": plan.description,
        "assets": [a.name for a in plan.assets.order_by("name")],
        "steps": steps,
    }


@transaction.atomic
def plan_save(*, data: Mapping[str, Any], by: User | None, plan: RecoveryPlan | None = None) -> RecoveryPlan:
    """Create a plan, or replace an existing plan's steps (its version goes up)."""
    spec = plan_parse(data)
    clash = RecoveryPlan.objects.filter(name=spec.name)
    if plan is not None:
        clash = clash.exclude(pk=plan.pk)
    if clash.exists():
        raise ValidationError({"name": [f"A plan named {spec.name!r} already exists."]})
    now = timezone.now()
    if plan is None:
        plan = RecoveryPlan.objects.create(name=spec.name, description=spec.description, created_by=by)
        action = "plan.created"
    else:
        plan = RecoveryPlan.objects.select_for_update(no_key=True).get(pk=plan.pk)
        plan.name, plan.description = spec.name, spec.description
        plan.version += 1
        plan.updated_at = now
        plan.save(update_fields=["name", "description", "version", "updated_at"])
        plan.steps.all().delete()
        action = "plan.updated"
    plan.assets.set(spec.assets)
    PlanStep.objects.bulk_create(
        PlanStep(
            plan=plan,
            key=s.key,
            title=s.title,
            kind=s.kind,
            asset=s.asset,
            group=s.group,
            position=index,
            after=s.after,
            critical=s.critical,
            timeout_seconds=s.timeout_seconds,
            requires_approval=s.requires_approval,
            approval_role=s.approval_role,
            approval_quorum=s.approval_quorum,
            params=s.params,
        )
        for index, s in enumerate(spec.steps, start=1)
    )
    audit_append(
        action=action,
        actor=by,
        system_actor="system:import",
        obj=plan,
        payload={"version": plan.version, "steps": len(spec.steps), "assets": [a.name for a in spec.assets]},
    )
    return plan
