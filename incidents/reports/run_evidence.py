"""Evidence the recovery runs hold, for the incident report: failovers and their approvals, restore integrity
checks, and each run's signed recovery-equivalence certificate as a checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dr_portal.pdf.document import Table
from dr_portal.pdf.formatting import duration, ts
from incidents.runs.certificate.selectors import run_certificate
from incidents.runs.models import Decision, RecoveryRun, StepRun, StepState
from inventory.models import StepKind

SWITCH_KINDS = (StepKind.FAILOVER, StepKind.DEGRADE)
CHECK_KINDS = (StepKind.RESTORE, StepKind.VERIFY)


@dataclass(frozen=True)
class FailoverFact:
    step: StepRun
    approvers: list[str]
    two_person: bool
    approved_at: datetime | None


def failover_facts(runs: list[RecoveryRun]) -> list[FailoverFact]:
    steps = (
        StepRun.objects.filter(run__in=runs, kind__in=SWITCH_KINDS)
        .select_related("run", "asset", "approval_requested_by")
        .prefetch_related("approvals__approver")
        .order_by("run__created_at", "pk")
    )
    facts = []
    for step in steps:
        approvals = [a for a in step.approvals.all() if a.decision == Decision.APPROVE]
        names = sorted({a.approver.username for a in approvals})
        requester = step.approval_requested_by.username if step.approval_requested_by else None
        # Two people: whoever asked, and at least the quorum of others, none of them the asker.
        two_person = requester is not None and requester not in names and len(names) >= max(1, step.approval_quorum)
        approved_at = max((a.created_at for a in approvals), default=None)
        facts.append(FailoverFact(step, names, two_person, approved_at))
    return facts


def failovers_summary(facts: list[FailoverFact]) -> str:
    if not facts:
        return "not applicable — no run switched traffic"
    ok = sum(1 for f in facts if f.two_person)
    return f"{len(facts)} switch step(s); two-person rule satisfied on {ok} of {len(facts)}"


def failovers_table(facts: list[FailoverFact]) -> Table:
    rows = []
    for f in facts:
        s = f.step
        wait = f.approved_at - s.approval_requested_at if f.approved_at and s.approval_requested_at else None
        rows.append(
            [
                s.run.reference,
                s.get_kind_display(),
                s.asset.name if s.asset else None,
                s.approval_requested_by.username if s.approval_requested_by else None,
                ts(s.approval_requested_at),
                ", ".join(f.approvers) or "none",
                "yes" if f.two_person else "no",
                duration(wait),
                ts(s.finished_at),
                s.get_state_display(),
            ]
        )
    return Table(
        "failovers",
        "Failovers: requests, approvals and the two-person rule",
        ["Run", "Step", "Asset", "Requested by", "Requested", "Approved by", "Two-person", "Time to approve",
         "Executed", "Outcome"],
        rows,
        empty="No run switched traffic (no failover or degrade step).",
    )  # fmt: skip


def files_checked(step: StepRun) -> int | None:
    """How many files a verify step checked, or a restore checked against their SHA-256 (all of the point's files,
    written or already present, when the restore says every hash verified); None when the step does not say."""
    evidence = step.evidence or {}
    for key in ("files_checked", "files_verified"):
        if isinstance(evidence.get(key), int):
            return int(evidence[key])
    if evidence.get("all_hashes_verified") is True and isinstance(evidence.get("files_total"), int):
        return int(evidence["files_total"])
    return None


def integrity_table(runs: list[RecoveryRun]) -> Table:
    steps = (
        StepRun.objects.filter(run__in=runs, kind__in=CHECK_KINDS)
        .select_related("run", "asset")
        .order_by("run__created_at", "pk")
    )
    rows = []
    for s in steps:
        files = files_checked(s)
        method = "SHA-256 of every file against the point's manifest" if s.kind == StepKind.RESTORE else "verify step"
        rows.append(
            [
                s.run.reference,
                s.get_kind_display(),
                s.asset.name if s.asset else None,
                method,
                files if isinstance(files, int) else None,
                s.get_state_display(),
                ts(s.finished_at),
            ]
        )
    return Table(
        "integrity",
        "Integrity checks of restored data",
        ["Run", "Step", "Asset", "Method", "Files verified", "Result", "Finished"],
        rows,
        empty="No run restored or verified data.",
    )


def certificate_table(runs: list[RecoveryRun]) -> Table:
    """Each certificate as the run page shows it: a row per check with what it found, the run-level lineage
    row, then the verdict. The words are the certificate's own status codes, so "not checked" never reads
    as a pass."""
    rows: list[list[Any]] = []
    for run in runs:
        cert = run_certificate(run=run)
        if cert is None:
            continue
        body = cert["body"]
        for asset in body["assets"]:
            for check in asset["checks"]:
                rows.append([run.reference, asset["asset"], check["label"], _result(check), _detail(check)])
        lineage = body.get("lineage")
        if lineage:
            rows.append([run.reference, "all restored", lineage["label"], _result(lineage), lineage["detail"]])
        signed = f"signed {ts(cert['issued_at'])} with the audit key {cert['key_id']}"
        rows.append([run.reference, "the run", "verdict", cert["verdict"], signed])
    return Table(
        "certificates",
        "Recovery-equivalence certificates (signed by the audit key; check with certificate_verify)",
        ["Run", "Asset", "Check", "Result", "What it found"],
        rows,
        empty="No run issued a recovery-equivalence certificate.",
        note="✓ passed · ✗ failed · ! recorded only (nothing switched) · - not checked (nothing in the run "
        "proved it). The verdict is “proven” only when no check failed and nothing was only recorded.",
    )


def _result(check: dict[str, Any]) -> str:
    return f"{check['mark']} {check['status_label']}"


def _detail(check: dict[str, Any]) -> str:
    parts = [str(check.get("detail") or "")]
    if check.get("data_as_of"):
        parts.append(f"data as of {ts(datetime.fromisoformat(check['data_as_of']))}")
    if check.get("route_now"):
        parts.append(f"route now {check['route_now']}")
    return "; ".join(p for p in parts if p)


def service_restored_from_runs(runs: list[RecoveryRun]) -> datetime | None:
    return min((r.service_verified_at for r in runs if r.service_verified_at), default=None)


def restore_steps(runs: list[RecoveryRun]) -> list[StepRun]:
    """The restore steps that succeeded in runs that verified the service: what actually brought data back."""
    return list(
        StepRun.objects.filter(
            run__in=[r for r in runs if r.service_verified_at], kind=StepKind.RESTORE, state=StepState.SUCCEEDED
        )
        .select_related("run", "asset", "point", "point__vault")
        .order_by("finished_at", "pk")
    )


def data_restored_from_runs(runs: list[RecoveryRun]) -> datetime | None:
    """When the last restore step of a verified run finished: the data was fully back then."""
    return max((s.finished_at for s in restore_steps(runs) if s.finished_at), default=None)


def integrity_summary(runs: list[RecoveryRun]) -> str | None:
    """The restore integrity checks in one line: method, and how many passed of how many."""
    steps = list(StepRun.objects.filter(run__in=runs, kind__in=CHECK_KINDS).select_related("run"))
    if not steps:
        return None
    passed = sum(1 for s in steps if s.state == StepState.SUCCEEDED)
    files = sum(files_checked(s) or 0 for s in steps)
    runs_named = ", ".join(sorted({s.run.reference for s in steps}))
    return (
        f"SHA-256 of every restored file against the recovery point's manifest, then a verify step: "
        f"{passed} of {len(steps)} check step(s) passed ({files} files verified) in {runs_named}"
    )
