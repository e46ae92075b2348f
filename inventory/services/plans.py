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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from dr_portal.accounts.models import Role, User
from dr_portal.audit.services import audit_append
from inventory.models import ASSET_STEP_KINDS, Asset, Dependency, PlanStep, RecoveryPlan, StepKind

APPROVER_ROLES = (Role.ONCALL_ENGINEER, Role.INCIDENT_COMMANDER, Role.ADMIN)
DEFAULT_TIMEOUT = {
    StepKind.RESTORE: 3600,
    StepKind.VERIFY: 1800,
    StepKind.SMOKE: 60,
    StepKind.FAILOVER: 300,
    StepKind.DEGRADE: 300,
    StepKind.WAIT: 900,
    StepKind.NOTIFY: 60,
    StepKind.MANUAL: 3600,
}
# The parameters each kind accepts; anything else is refused, so a typo never passes silently.
PARAMS: dict[str, frozenset[str]] = {
    StepKind.RESTORE: frozenset({"target", "point"}),
    StepKind.VERIFY: frozenset(),
    StepKind.SMOKE: frozenset({"url", "expect_status", "expect_json", "check", "args"}),
    # force: switch even to a route that fails its health check (the approval covers it).
    StepKind.FAILOVER: frozenset({"force"}),
    StepKind.DEGRADE: frozenset({"force"}),
    StepKind.WAIT: frozenset({"seconds", "until_check", "until_url", "poll_seconds"}),
    StepKind.NOTIFY: frozenset({"message", "role"}),
    StepKind.MANUAL: frozenset({"instructions"}),
}
STEP_FIELDS = frozenset(
    {"key", "title", "kind", "asset", "after", "critical", "timeout", "approval", *set().union(*PARAMS.values())}
)


def registered_checks() -> Mapping[str, str]:
    """Python checks a plan may name: settings.RUN_CHECKS maps a name to a dotted path."""
    return dict(getattr(settings, "RUN_CHECKS", {}))


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


def _int(value: Any, what: str, errors: list[str], *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.append(f"{what} must be a whole number of at least {minimum}.")
        return minimum
    return value


def _check_params(kind: str, params: dict[str, Any], where: str, errors: list[str]) -> None:
    if kind == StepKind.RESTORE:
        if params.get("target", "original") not in ("original", "alternate"):
            errors.append(f"{where}: target is 'original' or 'alternate'.")
        point = params.get("point", "latest")
        if not isinstance(point, str) or not point:
            errors.append(f"{where}: point is 'latest' or a recovery point id.")
    elif kind == StepKind.SMOKE:
        has_url, has_check = "url" in params, "check" in params
        if has_url == has_check:
            errors.append(f"{where}: a smoke check has either a url (HTTP) or a check (a registered Python check).")
        if has_url and not str(params["url"]).startswith(("http://", "https://")):
            errors.append(f"{where}: the url must start with http:// or https://.")
        if has_check and params["check"] not in registered_checks():
            known = ", ".join(sorted(registered_checks())) or "none"
            errors.append(f"{where}: no check named {params['check']!r} is registered (known: {known}).")
        if "expect_status" in params:
            _int(params["expect_status"], f"{where}: expect_status", errors, minimum=100)
        if "expect_json" in params and not isinstance(params["expect_json"], dict):
            errors.append(f"{where}: expect_json is a mapping of fields the response must contain.")
        if "args" in params and not isinstance(params["args"], dict):
            errors.append(f"{where}: args is a mapping.")
    elif kind == StepKind.WAIT:
        chosen = [k for k in ("seconds", "until_check", "until_url") if k in params]
        if len(chosen) != 1:
            errors.append(f"{where}: a wait has exactly one of seconds, until_check or until_url.")
        if "seconds" in params:
            _int(params["seconds"], f"{where}: seconds", errors, minimum=1)
        if "until_check" in params and params["until_check"] not in registered_checks():
            errors.append(f"{where}: no check named {params['until_check']!r} is registered.")
        if "until_url" in params and not str(params["until_url"]).startswith(("http://", "https://")):
            errors.append(f"{where}: until_url must start with http:// or https://.")
    elif kind == StepKind.NOTIFY:
        if not str(params.get("message", "")).strip():
            errors.append(f"{where}: a notify step needs a message.")
        if params.get("role", Role.INCIDENT_COMMANDER) not in Role.values:
            errors.append(f"{where}: role must be one of {', '.join(Role.values)}.")
    elif kind == StepKind.MANUAL and not str(params.get("instructions", "")).strip():
        errors.append(f"{where}: a manual step needs instructions for the person doing it.")


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
        _check_params(kind, params, where, errors)
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
                quorum = _int(approval.get("quorum", 1), f"{where}: approval quorum", errors, minimum=1)
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
                timeout_seconds=_int(timeout, f"{where}: timeout", errors, minimum=1),
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
        plan = RecoveryPlan.objects.select_for_update().get(pk=plan.pk)
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


def _dependency_layers(assets: Sequence[Asset]) -> list[list[Asset]]:
    ids = {a.pk for a in assets}
    ups: dict[int, set[int]] = {a.pk: set() for a in assets}
    for up, down in Dependency.objects.filter(upstream__in=ids, downstream__in=ids).values_list(
        "upstream_id", "downstream_id"
    ):
        ups[down].add(up)
    by_id = {a.pk: a for a in assets}
    layers: list[list[Asset]] = []
    remaining = set(ids)
    while remaining:
        ready = sorted((pk for pk in remaining if not ups[pk] & remaining), key=lambda pk: by_id[pk].name)
        ready = ready or sorted(remaining, key=lambda pk: by_id[pk].name)  # never loop on a cycle
        layers.append([by_id[pk] for pk in ready])
        remaining -= set(ready)
    return layers


def plan_default_data(*, assets: Iterable[Asset], name: str = "") -> dict[str, Any]:
    """A plan that restores and verifies `assets` upstream first, then fails over what can.

    Each asset is restored once everything it depends on (within the set) has
    been verified; restores of independent assets share a group.
    """
    chosen = sorted(set(assets), key=lambda a: a.name)
    if not chosen:
        raise ValidationError({"assets": ["Choose at least one asset."]})
    ups: dict[int, list[str]] = {a.pk: [] for a in chosen}
    for dep in Dependency.objects.filter(upstream__in=chosen, downstream__in=chosen).select_related("upstream"):
        ups[dep.downstream_id].append(dep.upstream.name)
    steps: list[dict[str, Any]] = []
    for layer in _dependency_layers(chosen):
        for asset in layer:
            after = [f"verify-{up}" for up in sorted(ups[asset.pk])]
            steps.append({"key": f"restore-{asset.name}", "kind": "restore", "asset": asset.name, "after": after})
            steps.append(
                {
                    "key": f"verify-{asset.name}",
                    "kind": "verify",
                    "asset": asset.name,
                    "after": [f"restore-{asset.name}"],
                }
            )
    verified = [f"verify-{a.name}" for a in chosen]
    for asset in chosen:
        if asset.alternate_region:
            steps.append(
                {
                    "key": f"failover-{asset.name}",
                    "kind": "failover",
                    "asset": asset.name,
                    "title": f"Serve {asset.name} from {asset.alternate_region}",
                    "after": verified,
                }
            )
    steps.append(
        {
            "key": "tell-commander",
            "kind": "notify",
            "after": [s["key"] for s in steps if s["kind"] == "failover"] or verified,
            "message": "Recovery steps are done; confirm service with the owners.",
            "critical": False,
        }
    )
    label = name or f"Restore {', '.join(a.name for a in chosen[:3])}{' …' if len(chosen) > 3 else ''}"
    return {
        "name": label[:100],
        "description": "Generated from the dependency order.",
        "assets": [a.name for a in chosen],
        "steps": steps,
    }
