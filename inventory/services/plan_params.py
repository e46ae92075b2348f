"""What each plan step kind accepts: default timeouts, allowed parameters and their checks.

No step kind runs a command: the kinds are a closed list, each with fixed parameters,
and anything else in a step is refused so a typo never passes silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from dr_portal.accounts.models import Role
from inventory.models import StepKind

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
    # replace: restore over a target that holds data (kept until the new content verifies);
    # target_config: fields of the asset's connector that name another target system.
    StepKind.RESTORE: frozenset({"target", "point", "replace", "target_config"}),
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


def whole_number(value: Any, what: str, errors: list[str], *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.append(f"{what} must be a whole number of at least {minimum}.")
        return minimum
    return value


def check_step_params(kind: str, params: dict[str, Any], where: str, errors: list[str]) -> None:
    if kind == StepKind.RESTORE:
        if params.get("target", "original") not in ("original", "alternate"):
            errors.append(f"{where}: target is 'original' or 'alternate'.")
        point = params.get("point", "latest")
        if not isinstance(point, str) or not point:
            errors.append(f"{where}: point is 'latest' or a recovery point id.")
        if not isinstance(params.get("replace", False), bool):
            errors.append(f"{where}: replace is true or false.")
        if not isinstance(params.get("target_config", {}), dict):
            errors.append(f"{where}: target_config is a mapping of the asset's connector fields.")
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
            whole_number(params["expect_status"], f"{where}: expect_status", errors, minimum=100)
        if "expect_json" in params and not isinstance(params["expect_json"], dict):
            errors.append(f"{where}: expect_json is a mapping of fields the response must contain.")
        if "args" in params and not isinstance(params["args"], dict):
            errors.append(f"{where}: args is a mapping.")
    elif kind == StepKind.WAIT:
        chosen = [k for k in ("seconds", "until_check", "until_url") if k in params]
        if len(chosen) != 1:
            errors.append(f"{where}: a wait has exactly one of seconds, until_check or until_url.")
        if "seconds" in params:
            whole_number(params["seconds"], f"{where}: seconds", errors, minimum=1)
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
