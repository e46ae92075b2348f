"""Build, sign and store a run's recovery-equivalence certificate from what its steps recorded.

Per asset, each check is ``passed``, ``failed``, ``recorded_only`` (a record-only
driver: nothing switched) or ``not_checked`` (nothing in the run proved it). The
verdict is ``proven`` only when no check failed and nothing was only recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dr_portal.audit.checkpoints import signing_key
from incidents.runs.certificate.connector_checks import connector_rows, lineage, member_rows
from incidents.runs.certificate.models import RunCertificate
from incidents.runs.certificate.signing import certificate_sign, key_id_of
from incidents.runs.models import RecoveryRun, StepRun, StepState
from inventory.models import StepKind

PASSED, FAILED, RECORDED, NOT_CHECKED = "passed", "failed", "recorded_only", "not_checked"


def _check(name: str, status: str, detail: str, **facts: Any) -> dict[str, Any]:
    return {"check": name, "status": status, "detail": detail, **{k: v for k, v in facts.items() if v is not None}}


def _last(steps: list[StepRun], *kinds: str) -> StepRun | None:
    found = [s for s in steps if s.kind in kinds]
    return found[-1] if found else None


def _asset_checks(
    steps: list[StepRun], golden: dict[str, Any] | None, *, is_model: bool, route: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    restore, verify = _last(steps, StepKind.RESTORE), _last(steps, StepKind.VERIFY)
    switch = _last(steps, StepKind.FAILOVER, StepKind.DEGRADE)
    checks = []
    if restore is not None:
        ev, ok = restore.evidence, restore.state == StepState.SUCCEEDED
        point = restore.point
        checks.append(
            _check(
                "recovery_point",
                PASSED if ok else FAILED,
                f"restored from point {point.public_id}" if point and ok else (restore.error or restore.state),
                point=str(point.public_id) if point else None,
                data_as_of=point.data_as_of.isoformat() if point else None,
                manifest_sha256=point.manifest_sha256 if point else None,
            )
        )
        # A connector's verify checks the system, not files: the restore hashed the point's files.
        rehashed = verify is not None and verify.state == StepState.SUCCEEDED and not restore.target_config
        hashed = verify.evidence if rehashed and verify is not None else ev
        files = hashed.get("files_checked", hashed.get("files_total"))
        checks.append(
            _check(
                "hashes",
                PASSED if ok and hashed.get("all_hashes_verified") else FAILED,
                f"{files} file SHA-256 verified" if ok else "restore did not finish",
                files_verified=files,
                # A chunked point: every chunk read back was authenticated against its id on the way.
                chunks_in_point=(point.stats or {}).get("chunks") if point is not None else None,
            )
        )
        if restore.target_config:
            # The asset has a connector: its verification decides, never "not checked".
            checks += connector_rows(restore, verify)
        else:
            checks.append(_check("connector", NOT_CHECKED, "a folder asset: its files are the asset"))
    if golden is not None:
        checks.append(
            _check("golden_outputs", PASSED if golden["passed"] else FAILED, golden["detail"], **golden["evidence"])
        )
    elif restore is not None and is_model:
        checks.append(_check("golden_outputs", NOT_CHECKED, "no golden set for this model"))
    if switch is not None:
        ev = switch.evidence
        if switch.state != StepState.SUCCEEDED:
            status, detail = FAILED, switch.error or switch.state
        elif ev.get("driver") == "record_only":
            status, detail = RECORDED, "recorded, nothing switched"
        else:
            status, detail = PASSED, ev.get("detail", "")
        smoke = ev.get("smoke_through_route")
        if smoke:
            named = [a.get("backend") for a in smoke.get("answers", [])]
            expected = smoke["expected_backend"]
            detail += f"; smoke check through the route: {named.count(expected)}/{len(named)} answered by {expected}"
        checks.append(
            _check(
                "route",
                status,
                detail,
                driver=ev.get("driver"),
                drill=ev.get("drill"),
                route_now=ev.get("route_after"),
                smoke_through_route=smoke,
            )
        )
        if smoke is None and status == PASSED and not ev.get("drill"):
            checks.append(_check("smoke_through_route", NOT_CHECKED, "the driver has no smoke_url"))
    if route is not None:
        checks.append(
            _check(
                "route_at_certificate",
                PASSED if route["ok"] else FAILED,
                route["detail"],
                route_now=route.get("route_now"),
                smoke_through_route=route.get("smoke"),
            )
        )
    return checks


def certificate_body(
    run: RecoveryRun, golden: dict[int, dict[str, Any]], routes: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    steps = list(run.steps.select_related("asset", "point").order_by("position"))
    assets: list[dict[str, Any]] = []
    in_group = _group_restores(steps)
    for asset in run.assets.order_by("name"):
        own = [s for s in steps if s.asset_id == asset.pk and s.state != StepState.SKIPPED]
        checks = _asset_checks(
            own, golden.get(asset.pk), is_model=asset.kind == "model", route=(routes or {}).get(asset.pk)
        )
        if asset.name in in_group and not any(s.kind == StepKind.RESTORE for s in own):
            checks = member_rows(asset.name, in_group[asset.name]) + checks
        assets.append({"asset": asset.name, "kind": asset.kind, "serving": asset.serving, "checks": checks})
    lineage_row = lineage(steps)
    as_of = sorted(c["data_as_of"] for a in assets for c in a["checks"] if c.get("data_as_of"))
    statuses = [c["status"] for a in assets for c in a["checks"]] + [lineage_row["status"]]
    verdict = "proven" if statuses and FAILED not in statuses and RECORDED not in statuses else "not proven"
    return {
        "run": str(run.public_id),
        "reference": run.reference,
        "incident": str(run.incident_uuid) if run.incident_uuid else None,
        "mode": run.mode,
        "status": run.status,
        "origin": settings.AUDIT_LOG_ORIGIN,
        "issued_at": timezone.now().isoformat(),
        "service_verified_at": run.service_verified_at.isoformat() if run.service_verified_at else None,
        "achieved_rto_seconds": run.achieved_rto_seconds,
        "achieved_rpo_seconds": run.achieved_rpo_seconds,
        "consistency": {
            "data_as_of_oldest": as_of[0] if as_of else None,
            "data_as_of_newest": as_of[-1] if as_of else None,
            # How far apart in time the restored assets' data is: 0 for one consistent moment.
            "spread_seconds": _spread(as_of),
        },
        # The model, features and index restored belong to one consistency group or one time.
        "lineage": lineage_row,
        "assets": assets,
        "verdict": verdict,
    }


def _group_restores(steps: list[StepRun]) -> dict[str, StepRun]:
    """Member asset name → the restore step of the consistency group that restored it."""
    out: dict[str, StepRun] = {}
    for step in steps:
        if step.kind == StepKind.RESTORE and step.state != StepState.SKIPPED:
            for name in (step.evidence.get("connector") or {}).get("members", {}):
                out[name] = step
    return out


def _spread(as_of: list[str]) -> float | None:
    if not as_of:
        return None
    return (datetime.fromisoformat(as_of[-1]) - datetime.fromisoformat(as_of[0])).total_seconds()


@transaction.atomic
def certificate_issue(
    *, run: RecoveryRun, golden: dict[int, dict[str, Any]], routes: dict[int, dict[str, Any]] | None = None
) -> RunCertificate:
    from dr_portal.audit.services import audit_append

    body = certificate_body(run, golden, routes)
    key = signing_key()
    document = certificate_sign(body, key)
    cert, _ = RunCertificate.objects.update_or_create(
        run=run, defaults={"document": document, "verdict": body["verdict"], "key_id": key_id_of(key.public_key())}
    )
    audit_append(
        action="run.certificate_issued",
        system_actor="system:runs",
        obj=run,
        incident_id=run.incident_uuid,
        payload={"verdict": body["verdict"], "key_id": cert.key_id, "assets": len(body["assets"])},
    )
    return cert
