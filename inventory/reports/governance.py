"""Governance: replication, contingency plans, access review, audit controls, GDPR linkage, findings, sign-off."""

from __future__ import annotations

from collections import Counter

from django.db import connection

from dr_portal.accounts.models import User
from dr_portal.accounts.selectors import user_ids_with_mfa, users_active
from dr_portal.audit import guards
from dr_portal.audit.selectors import (
    checkpoint_count_between,
    event_areas_between,
    events_newest_per_object,
    verifications_finished_between,
)
from dr_portal.pdf.document import Field, Section, Table
from dr_portal.pdf.formatting import rate, ts, yes_no
from inventory.models import RecoveryPlan
from inventory.readiness import AssetReadiness, worst_first
from inventory.reports.scope import Period
from inventory.selectors import plan_list

# The audit actions that change a plan's steps (inventory.services.plans.plan_save).
PLAN_REVISIONS = ("plan.created", "plan.updated")

# Which rule each readiness check evidences.
CONTROL_REFS = {
    "coverage": "HIPAA §164.308(a)(7)(ii)(A); GDPR Art. 32(1)(c)",
    "rpo": "HIPAA §164.308(a)(7)(ii)(A); GDPR Art. 32(1)(c)",
    "backup": "HIPAA §164.308(a)(7)(ii)(A)",
    "drill": "HIPAA §164.308(a)(7)(ii)(D); GDPR Art. 32(1)(d)",
    "worm": "HIPAA §164.308(a)(7)(ii)(A) (integrity of copies); internal policy",
    "encryption": "GDPR Art. 32(1)(a); HIPAA §164.312(a)(2)(iv)",
    "residency": "GDPR Chapter V (transfers); internal policy",
}


def replication_section() -> Section:
    return Section(
        "replication",
        "Replication and failover readiness",
        fields=[
            Field("lag", "Replication lag p50 / p99 / max per asset vs RPO", None),
            Field("runbook", "Failover runbook version and last-tested date", None),
            Field("approvers", "Approver roster current?", None),
            Field("failover_policy", "Automatic vs manual failover policy", "manual, with approval quorum per policy"),
        ],
    )


def plans_section() -> Section:
    """The recovery plans as they stand: each one's version, and when and by whom it was last revised."""
    plans = list(plan_list())
    revisions = events_newest_per_object(
        object_type=RecoveryPlan._meta.label_lower,
        object_ids=[str(p.public_id) for p in plans],
        actions=PLAN_REVISIONS,
    )
    rows = []
    for plan in plans:
        event = revisions.get(str(plan.public_id))
        rows.append(
            [
                plan.name,
                plan.version,
                ts(plan.updated_at),
                event.actor_label if event else None,
                event.seq if event else None,
                plan.step_count,  # type: ignore[attr-defined]
                plan.asset_count,  # type: ignore[attr-defined]
            ]
        )
    return Section(
        "plans",
        "Contingency-plan testing and revision",
        intro="HIPAA §164.308(a)(7)(ii)(D); §164.316(b)(2)(iii).",
        fields=[
            Field(
                "dr_plan",
                "DR plans: how many, the newest revision",
                _plans_summary(plans),
                note="Plans as they stand at generation; each save of a plan raises its version",
            ),
            Field("plan_review", "DR plan: last reviewed, approver", None),
            Field("backup_plan", "Backup plan", None),
            Field("emergency_plan", "Emergency-mode operation plan", None),
            Field("ir_plan", "Incident-response plan", None),
            Field("next_review", "Next review due", None),
        ],
        tables=[
            Table(
                "plans",
                "Recovery plans",
                ["Plan", "Version", "Last revised", "Revised by", "Audit seq", "Steps", "Assets"],
                rows,
                empty="No recovery plan is recorded.",
            )
        ],
    )


def _plans_summary(plans: list[RecoveryPlan]) -> str | None:
    newest = max(plans, key=lambda p: p.updated_at, default=None)
    if newest is None:
        return None
    count = f"{len(plans)} plan" if len(plans) == 1 else f"{len(plans)} plans"
    return f"{count}; newest: {newest.name} version {newest.version}, {ts(newest.updated_at)}"


def access_section() -> Section:
    people = users_active()
    with_mfa = user_ids_with_mfa()
    roles = Counter(u.get_role_display() for u in people)
    return Section(
        "access",
        "Access review",
        intro="Supports HIPAA §164.308(a)(3)-(4), §164.312(a).",
        fields=[
            Field("accounts", "Active accounts", len(people)),
            Field("mfa", "MFA coverage", rate(sum(1 for u in people if u.pk in with_mfa), len(people))),
            Field("reviewer", "Reviewer and review date", None),
            Field("removed", "Accounts removed or changed", None),
            Field("break_glass", "Break-glass accounts and their use", None),
            Field("leavers", "Leavers' access-removal time (vs proposed 1 h)", None),
            Field("sod", "Separation of duties (DB superuser vs WORM admin vs signer-key admin)", None),
        ],
        tables=[
            Table(
                "roles",
                "Accounts by role",
                ["Role", "Accounts"],
                [[k, v] for k, v in sorted(roles.items())],
                empty="No active accounts.",
            )
        ],
    )


def audit_controls_section(period: Period, event_count: int) -> Section:
    actions = event_areas_between(start=period.start, end=period.end)
    runs = verifications_finished_between(start=period.start, end=period.end)
    checkpoints = checkpoint_count_between(start=period.start, end=period.end)
    guard_problems = guards.guard_problems(connection)
    last = runs[-1] if runs else None
    return Section(
        "audit",
        "Audit controls and log integrity",
        intro="HIPAA §164.312(b); §164.308(a)(1)(ii)(D).",
        fields=[
            Field("events", "Audit events in the period", event_count),
            Field("verify_runs", "audit_verify runs in the period", len(runs)),
            Field("verify_all_pass", "All PASS?", yes_no(all(r.ok for r in runs)) if runs else None),
            Field(
                "verify_last",
                "Last run: seq range, duration",
                f"seq {last.first_seq}..{last.last_seq}, {(last.finished_at - last.started_at).total_seconds():.1f} s"
                if last
                else None,
            ),
            Field("checkpoints", "Checkpoints signed in the period", checkpoints),
            Field("export_lag", "Max checkpoint export lag; witness / TSA", None),
            Field(
                "guards",
                "Database guards (triggers present, ENABLE ALWAYS)",
                "intact" if not guard_problems else "; ".join(guard_problems),
            ),
            Field("log_review", "Log-review activity", None),
        ],
        tables=[
            Table(
                "types",
                "Event types in the period",
                ["Area", "Events"],
                [[k, v] for k, v in sorted(actions.items())],
                empty="No audit events in the period.",
            )
        ],
    )


def gdpr_section(by: User) -> Section:
    return Section(
        "gdpr",
        "GDPR accountability linkage",
        fields=[
            Field("ropa", "Art. 30 processing activities affected by DR (ids)", None),
            Field("recipients", "Recipients / processors (backup providers, DR regions, transfer safeguards)", None),
            Field("toms", "Art. 32 TOMs description kept current", None),
            Field(
                "assessor", "Art. 32(1)(d) testing evidence: this report; assessor", by.get_full_name() or by.username
            ),
        ],
    )


def findings_section(items: list[AssetReadiness]) -> Section:
    rows = []
    n = 0
    for r in worst_first(items):
        for c in r.problems:
            n += 1
            rows.append(
                [
                    f"F-{n:03d}",
                    c.level.label,
                    c.label,
                    CONTROL_REFS.get(c.name, ""),
                    r.asset.name,
                    r.asset.owner_team,
                    c.reason,
                    None,
                    "open",
                    None,
                ]
            )
    return Section(
        "findings",
        "Findings, risks and CAPA",
        tables=[
            Table(
                "findings",
                "Findings",
                [
                    "Id",
                    "Severity",
                    "Check",
                    "Control ref",
                    "Asset",
                    "Owner",
                    "Finding",
                    "Due",
                    "Status",
                    "Risk acceptance",
                ],
                rows,
                empty="No findings: every check is ok.",
            )
        ],
    )


def attest_section() -> Section:
    rows = [[role, None, None, None] for role in ("Security Officer", "DPO", "DR owner", "Compliance")]
    return Section(
        "attestation",
        "Attestation and sign-off",
        tables=[Table("signoff", "Sign-off", ["Role", "Name", "Date", "Signature"], rows)],
    )
