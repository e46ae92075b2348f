"""What a failover, failback or degrade step does with the endpoint's driver.

Returns (ok, code, reason, evidence). The evidence always says which driver
ran and whether traffic moved: record only says "recorded, nothing switched";
a drill says production routing was not touched.
"""

from __future__ import annotations

from typing import Any

from incidents.runs.drivers.base import DriverRefused
from incidents.runs.drivers.config import driver_build, route_of
from incidents.runs.drivers.models import DriverKind
from incidents.runs.drivers.record_only import LABEL
from incidents.runs.drivers.smoke import smoke_through
from incidents.runs.models import Mode, StepRun
from inventory.models import Serving
from inventory.services import asset_serving_switch

Result = tuple[bool, str, str, dict[str, Any]]


def _smoke(config: dict[str, Any], to: str) -> tuple[bool, dict[str, Any]] | None:
    if not config.get("smoke_url"):
        return None
    return smoke_through(
        url=str(config["smoke_url"]),
        expect=to,
        header=str(config.get("identify_header", "X-Backend")),
        requests=int(config.get("smoke_requests", 3)),
    )


def traffic_switch(step: StepRun, *, to: str) -> Result:
    asset = step.asset
    assert asset is not None
    route = route_of(asset)
    base: dict[str, Any] = {"asset": asset.name, "driver": route.driver, "to": to}
    if to == Serving.ALTERNATE:
        base["region"] = asset.alternate_region
    try:
        driver = driver_build(route)
        if step.run.mode == Mode.DRILL:
            result = driver.check_only(to=to)
            evidence = {
                **base,
                "drill": True,
                "production_routing": "untouched (drill: check only)",
                "route_before": result.route_before,
                "route_after": result.route_after,
                "target_ready": result.took,
                "detail": result.detail,
                **result.evidence,
            }
            if route.driver == DriverKind.RECORD_ONLY:
                return True, "", "", {**evidence, "traffic": LABEL}
            if not result.took:
                return False, "target_unhealthy", result.detail, evidence
            return True, "", "", evidence
        force = bool(step.params.get("force")) and step.requires_approval
        result = driver.switch(to=to, key=f"{step.public_id}:{to}", force=force)
    except DriverRefused as refusal:
        return False, refusal.code, str(refusal), {**base, "traffic": "not switched", "error": str(refusal)}
    evidence = {
        **base,
        "serving": to,
        "route_before": result.route_before,
        "route_after": result.route_after,
        "switched": result.switched,
        "took": result.took,
        "detail": result.detail,
        **result.evidence,
    }
    if route.driver == DriverKind.RECORD_ONLY:
        evidence["traffic"] = LABEL
    if result.took or not result.switched:  # moved for real, or record only: the portal records it
        asset_serving_switch(asset=asset, to=to, reason=f"{step.title} (run {step.run.reference}, {result.detail})")
    if result.switched and not result.took:
        return False, "switch_not_taken", f"The switch to {to} did not take: {result.detail}", evidence
    smoke = _smoke(route.config, to)
    if smoke is not None:
        ok, evidence["smoke_through_route"] = smoke
        if not ok:
            return (
                False,
                "smoke_failed",
                f"Traffic switched, but the smoke check through the route was not answered by {to}.",
                evidence,
            )
    return True, "", "", evidence


def route_recheck(step: StepRun) -> dict[str, Any] | None:
    """At the end of a run: read the route again and smoke-check through it (None for drills and record only)."""
    asset = step.asset
    expected = step.evidence.get("route_after")
    if asset is None or step.run.mode == Mode.DRILL or not expected:
        return None
    route = route_of(asset)
    if route.driver == DriverKind.RECORD_ONLY:
        return None
    try:
        now = driver_build(route).current_route()
    except DriverRefused as refusal:
        return {"asset": asset.name, "ok": False, "detail": f"Could not read the route: {refusal}"}
    smoke = _smoke(route.config, expected)
    ok = now == expected and (smoke is None or smoke[0])
    detail = f"{now} serves now (expected {expected})" + (
        "" if smoke is None else f"; smoke check {'ok' if smoke[0] else 'FAILED'}"
    )
    return {
        "asset": asset.name,
        "ok": ok,
        "route_now": now,
        "detail": detail,
        "smoke": None if smoke is None else smoke[1],
    }
