"""What a worker does for each step kind. Entry point: `step_execute(step_id=..., worker=...)`.

Each kind is idempotent: a restore resumes file by file (files already in
place with the right hash are kept), a verify only reads, a switch to the
state it is already in changes nothing. Restores check the policy's allowed
regions again before a byte moves, in case the policy changed since the run
was created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from dr_portal.keepalive import kept_alive
from incidents.runs.checks import CheckResult, http_check, python_check
from incidents.runs.drivers.steps import traffic_switch
from incidents.runs.models import Mode, StepRun
from incidents.runs.services.connector_steps import connector_restore, connector_verify
from incidents.runs.services.lease import lease_seconds, step_heartbeat, step_lease_renew, step_overdue
from incidents.runs.services.steps import (
    step_await_person,
    step_claim,
    step_fail,
    step_progress,
    step_release,
    step_retry_later,
    step_sleep,
    step_succeed,
)
from inventory import vault_io
from inventory.models import Serving, StepKind


@dataclass
class Outcome:
    kind: str  # done | failed | retry | stopped | sleep | person
    evidence: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    reason: str = ""
    seconds: float = 0.0
    bytes_moved: int | None = None


def _done(evidence: dict[str, Any], *, bytes_moved: int | None = None) -> Outcome:
    return Outcome("done", evidence, bytes_moved=bytes_moved)


def _failed(code: str, reason: str, evidence: dict[str, Any] | None = None) -> Outcome:
    return Outcome("failed", evidence or {}, code=code, reason=reason)


def _from_failure(failure: vault_io.VaultIOFailure, what: str) -> Outcome:
    if failure.transient:
        return Outcome("retry", code=failure.code, reason=str(failure))
    evidence = {"error": failure.code, **{k: v for k, v in failure.evidence.items() if v}}
    return _failed(failure.code, f"{what}: {failure}", evidence)


def _restore(step: StepRun) -> Outcome:
    asset, point = step.asset, step.point
    assert asset is not None
    if point is None or not point.is_good:
        return _failed("no_point", f"{asset.name} has no good recovery point to restore from.")
    allowed = asset.policy.allowed_regions if asset.policy else []
    if allowed and step.target_region not in allowed:
        return _failed(
            "region_refused",
            f"Refused before any byte moved: {step.target_region} is outside {asset.name}'s allowed regions "
            f"({', '.join(allowed)}).",
        )
    target = Path(step.target_path)

    def progress(done: int, total: int) -> bool:
        return step_progress(step=step, bytes_done=done, bytes_total=total)

    if step.target_config:
        return _connector_outcome(step, *connector_restore(step, progress))
    try:
        result = vault_io.restore_point(
            vault=point.vault,
            manifest=point.manifest,
            target_dir=target,
            progress=progress,
            max_bytes_per_second=settings.RESTORE_MAX_BYTES_PER_SECOND,
        )
    except vault_io.BackupStopped:
        if step_overdue(step):
            return _failed("timeout", f"The restore did not finish within {step.timeout_seconds} s.")
        return Outcome("stopped")
    except vault_io.VaultIOFailure as failure:
        return _from_failure(failure, f"Restoring {asset.name} from point {point.public_id} failed")
    evidence = {
        **result,
        "point": str(point.public_id),
        "data_as_of": point.data_as_of.isoformat(),
        "manifest_sha256": point.manifest_sha256,
        "target": step.target_path,
        "region": step.target_region,
    }
    return _done(evidence, bytes_moved=int(result.get("bytes_restored", 0)))


def _verify(step: StepRun) -> Outcome:
    assert step.asset is not None
    if step.point is None:
        return _failed("no_point", f"{step.asset.name} has no recovery point to verify against.")
    if step.target_config:
        return _connector_outcome(step, *connector_verify(step))

    def progress(done: int, total: int) -> bool:
        return step_progress(step=step, bytes_done=done, bytes_total=total)

    try:
        report = vault_io.verify_restored(
            manifest=step.point.manifest, target_dir=Path(step.target_path), progress=progress, vault=step.point.vault
        )
    except vault_io.BackupStopped:
        return Outcome("stopped")
    except vault_io.VaultIOFailure as failure:
        return _from_failure(failure, f"Verifying {step.asset.name} failed")
    if not report.ok:
        problems = [
            {"file": p.path, "problem": p.problem, "expected_sha256": p.expected, "actual_sha256": p.actual}
            for p in report.problems[:50]
        ]
        return _failed("hash_mismatch", report.brief(), {"problems": problems, "files_checked": report.checked})
    return _done(
        {
            "files_checked": report.checked,
            "bytes_checked": report.bytes_checked,
            "all_hashes_verified": True,
            "manifest_sha256": step.point.manifest_sha256,
            "target": step.target_path,
        }
    )


def _connector_outcome(step: StepRun, status: str, evidence: dict[str, Any], code: str, reason: str) -> Outcome:
    if status == "done":
        bytes_moved = int(evidence.get("bytes_restored", 0)) if step.kind == StepKind.RESTORE else None
        return _done(evidence, bytes_moved=bytes_moved)
    if status == "retry":
        return Outcome("retry", code=code, reason=reason)
    if status == "stopped":
        if step_overdue(step):
            return _failed("timeout", f"The restore did not finish within {step.timeout_seconds} s.")
        return Outcome("stopped")
    return _failed(code, reason, evidence)


def _check(step: StepRun, params: dict[str, Any]) -> CheckResult:
    if "url" in params or "until_url" in params:
        return http_check(
            url=str(params.get("url") or params.get("until_url")),
            expect_status=int(params.get("expect_status", 200)),
            expect_json=params.get("expect_json"),
            timeout=min(30.0, float(step.timeout_seconds)),
        )
    name = str(params.get("check") or params.get("until_check"))
    target = Path(step.target_path) if step.target_path.startswith("/") else None
    return python_check(name=name, target_dir=target, asset=step.asset, args=params.get("args") or {})


def _smoke(step: StepRun) -> Outcome:
    result = _check(step, step.params)
    evidence = {"ok": result.ok, "detail": result.detail, **result.evidence}
    return _done(evidence) if result.ok else _failed("check_failed", result.detail, evidence)


def _switch(step: StepRun) -> Outcome:
    """Move traffic with the endpoint's driver (drivers/steps.py); a drill only checks, never switches."""
    if step.kind == StepKind.FAILOVER:
        to = Serving.PRIMARY if step.run.mode == Mode.FAILBACK else Serving.ALTERNATE
    else:
        to = Serving.PRIMARY if step.run.mode == Mode.FAILBACK else Serving.FALLBACK
    ok, code, reason, evidence = traffic_switch(step, to=to)
    evidence.setdefault("switched_at", timezone.now().isoformat())
    return _done(evidence) if ok else _failed(code, reason, evidence)


def _wait(step: StepRun) -> Outcome:
    params = step.params
    started = step.started_at or timezone.now()
    poll = max(
        1.0, min(float(params.get("poll_seconds", 5)), lease_seconds(step.asset.tier if step.asset else None) / 3)
    )
    if "seconds" in params:
        left = int(params["seconds"]) - (timezone.now() - started).total_seconds()
        if left <= 0:
            return _done({"waited_seconds": int(params["seconds"])})
        return Outcome("sleep", {"until": (started.timestamp() + int(params["seconds"]))}, seconds=min(left, poll))
    result = _check(step, params)
    if result.ok:
        return _done({"condition": result.detail, **result.evidence})
    if step_overdue(step):
        return _failed("timeout", f"The condition did not hold within {step.timeout_seconds} s: {result.detail}")
    return Outcome("sleep", {"last_check": result.detail}, seconds=poll)


def _notify(step: StepRun) -> Outcome:
    role = str(step.params.get("role", "incident_commander"))
    people = list(
        get_user_model().objects.filter(is_active=True, role=role).exclude(email="").values_list("email", flat=True)
    )
    message = f"{step.params.get('message', '')}\n\nRecovery run {step.run.reference}, step {step.title}."
    sent = 0
    if people:
        sent = send_mail(
            subject=f"[DR Portal] {step.title} ({step.run.reference})",
            message=message,
            from_email=None,
            recipient_list=sorted(people),
            fail_silently=True,
        )
    return _done({"role": role, "recipients": len(people), "sent": bool(sent)})


def _manual(step: StepRun) -> Outcome:
    return Outcome("person", {"instructions": step.params.get("instructions", "")})


HANDLERS = {
    StepKind.RESTORE: _restore,
    StepKind.VERIFY: _verify,
    StepKind.SMOKE: _smoke,
    StepKind.FAILOVER: _switch,
    StepKind.DEGRADE: _switch,
    StepKind.WAIT: _wait,
    StepKind.NOTIFY: _notify,
    StepKind.MANUAL: _manual,
}


def step_execute(*, step_id: int, worker: str) -> str:
    """Claim and run one step. Safe to call twice: a second call finds nothing to claim."""
    step = step_claim(step_id=step_id, worker=worker)
    if step is None:
        return f"step {step_id}: nothing to do"
    step_heartbeat(step=step)
    # A connector's own work (pg_restore, a registry load) saves no progress: the lease is kept
    # from a side thread for as long as this process works on the step, within its timeout.
    every = max(1.0, lease_seconds(step.asset.tier if step.asset else None) / 3)
    with kept_alive(lambda: step_lease_renew(step=step), every=every):
        outcome = HANDLERS[StepKind(step.kind)](step)
    if outcome.kind == "done":
        finished = step_succeed(
            step_id=step.pk, attempt=step.attempt, evidence=outcome.evidence, bytes_moved=outcome.bytes_moved
        )
        if finished is None:
            step_release(step=step)  # cancelled or taken over meanwhile: let clean-up go ahead
        return f"step {step.key}: {'succeeded' if finished else 'finished elsewhere'}"
    if outcome.kind == "failed":
        if step_fail(
            step_id=step.pk, attempt=step.attempt, code=outcome.code, reason=outcome.reason, evidence=outcome.evidence
        ):
            return f"step {step.key}: failed ({outcome.code})"
        step_release(step=step)
        return f"step {step.key}: failed ({outcome.code}), but it was no longer ours"
    if outcome.kind == "retry":
        step_retry_later(step_id=step.pk, attempt=step.attempt, code=outcome.code, reason=outcome.reason)
        return f"step {step.key}: will retry ({outcome.code})"
    if outcome.kind == "sleep":
        step_sleep(step_id=step.pk, attempt=step.attempt, seconds=outcome.seconds, evidence=outcome.evidence)
        return f"step {step.key}: waiting"
    if outcome.kind == "person":
        step_await_person(step_id=step.pk, attempt=step.attempt, evidence=outcome.evidence)
        return f"step {step.key}: waiting for a person"
    step_release(step=step)
    return f"step {step.key}: stopped, no longer ours"
