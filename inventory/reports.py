"""The periodic DR readiness report (GDPR Art. 30/32(1)(c)-(d), HIPAA §164.308(a)(7), §164.312(b)) as data.

Activity (backups, drills, incidents, audit-log checks) is counted over the
period; the state of each asset (policy, newest good backup, readiness) is as
at generation time, and the report says so. Incidents and drills are not
inventory data: the caller (incidents/) passes those two sections in, so that
imports keep pointing one way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC as _UTC
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from dr_portal.charts import Measured, achieved_vs_target_chart, backup_age_vs_rpo_chart, short_duration
from dr_portal.pdf.document import (
    Control,
    Field,
    ReportDocument,
    Section,
    Table,
    anchor_and_verify,
    day,
    integrity_fields,
    retention_until,
    ts,
    yes_no,
)
from inventory.models import Backup, BackupStatus, Dependency, RecoveryPoint, Vault
from inventory.readiness import AssetReadiness, Level, readiness_for, worst_first

NPRM = "proposed, not in force (HIPAA Security Rule NPRM, 90 FR 898)"
NPRM_RESTORE = timedelta(hours=72)
NPRM_BACKUP_AGE = timedelta(hours=48)
CRITICAL_TIERS = (0, 1)
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


@dataclass(frozen=True)
class Period:
    """Whole UTC days, `first` to `last` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=_UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=_UTC)

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()} (UTC)"

    def previous(self) -> Period:
        length = self.last - self.first
        last = self.first - timedelta(days=1)
        return Period(last - length, last)


def _f(item: AssetReadiness) -> Any:
    """The asset with the facts `Asset.objects.with_facts()` annotates (newest good point, last backup)."""
    return item.asset


@dataclass(frozen=True)
class MeasuredRun:
    """A recovery run finished in the period, as the readiness report needs it (built by incidents/)."""

    reference: str
    mode: str
    status: str
    assets: tuple[str, ...]
    finished_at: datetime | None
    rto_achieved_s: int | None
    rto_target_s: int | None
    rpo_achieved_s: int | None
    rpo_target_s: int | None


def _secs(value: int | None) -> str | None:
    return short_duration(timedelta(seconds=value)) if value is not None else None


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _rate(ok: int, total: int) -> str | None:
    return f"{100 * ok / total:.1f} % ({ok} of {total})" if total else "n/a (none in scope)"


def readiness_report_document(
    *,
    period: Period,
    report_id: str,
    version: int,
    by: User,
    now: datetime,
    drills: Section | None = None,
    incidents: Section | None = None,
    runs: Sequence[MeasuredRun] = (),
) -> ReportDocument:
    """Everything the readiness report says, as data. Takes a checkpoint (writes to the audit log)."""
    first_seq = (
        AuditEvent.objects.filter(_in(period, "recorded_at")).order_by("seq").values_list("seq", flat=True).first()
    )
    anchor, verification = anchor_and_verify(first_seq=first_seq)
    items = readiness_for(now=now)
    backups = list(Backup.objects.filter(_in(period, "created_at")).select_related("asset"))
    events_in_period = AuditEvent.objects.filter(_in(period, "recorded_at"))
    event_count = events_in_period.count()
    empty = ""
    if not items and not backups and event_count == 0:
        empty = (
            "there are no assets in the inventory and nothing happened in this period (no backups, drills, "
            "incidents or audit events). The sections below say so one by one."
        )
    elif not backups and event_count == 0:
        empty = "nothing happened in this period (no backups, drills, incidents or audit events)."
    control = Control(
        report_id=report_id,
        kind="readiness",
        title=f"DR readiness report — {period.first.isoformat()} to {period.last.isoformat()}",
        subtitle="Periodic disaster-recovery readiness and compliance evidence",
        version=version,
        status="final",
        generated_at=now,
        generated_by=by.username,
        generated_by_id=by.pk,
        classification=_classification(),
        distribution="Compliance officers and administrators of DR Portal; DR owners",
        retention_until=retention_until(now),
        legal_hold=None,
        period=period.label,
    )
    doc = ReportDocument(
        control=control,
        sections=[],
        anchor=anchor,
        verification=verification,
        subject={"period_first": period.first.isoformat(), "period_last": period.last.isoformat(), "empty": empty},
    )
    regions = sorted({a.asset.region for a in items})
    control_section = Section(
        "control",
        "Document control and integrity",
        paragraphs=[f"No data for this period: {empty}"] if empty else [],
        fields=[
            Field("period", "Period covered", period.label),
            Field(
                "scope",
                "Scope",
                f"{len(items)} assets in {len(regions)} regions ({', '.join(regions)})"
                if items
                else "no assets in the inventory",
            ),
            Field("legal_entities", "Legal entities", None),
            Field(
                "frameworks",
                "Frameworks assessed",
                "GDPR; HIPAA Security Rule (current) and its NPRM (proposed, not in force); EU AI Act; internal policy",
            ),
            Field(
                "state_as_of",
                "Asset state as of",
                ts(now),
                note="Readiness, policies and newest backups are as at generation; activity is counted over the period",
            ),
            *integrity_fields(doc),
        ],
    )
    doc.sections = [
        control_section,
        _summary(period, items, backups, now),
        _inventory(period, items),
        _backups(period, items, backups, now, doc),
        _immutable(items),
        _restore_tests(period, items, doc, runs),
        drills or _missing("drills", "DR drills and exercises"),
        _replication(),
        _plans(),
        _access(),
        _audit_controls(period, event_count),
        incidents or _missing("incidents", "Incidents in the period"),
        _gdpr(by),
        _nprm(items, now),
        _findings(items),
        _attest(),
        _appendix(doc, items),
    ]
    return doc


def _classification() -> str:
    from django.conf import settings

    value: str = settings.REPORT_CLASSIFICATION
    return value


def _missing(key: str, title: str) -> Section:
    return Section(key, title, fields=[Field(key, title, None)])


def _summary(period: Period, items: list[AssetReadiness], backups: list[Backup], now: datetime) -> Section:
    counts = Counter(r.level for r in items)
    rag = "no assets" if not items else ("red" if counts[Level.BREACH] else "amber" if counts[Level.RISK] else "green")
    critical = [r for r in items if r.asset.tier in CRITICAL_TIERS]
    tested = [r for r in critical if r.asset.last_drill_at and period.start <= r.asset.last_drill_at < period.end]
    done = [b for b in backups if b.status in (BackupStatus.SUCCEEDED, BackupStatus.FAILED)]
    ok = sum(1 for b in done if b.status == BackupStatus.SUCCEEDED)
    prev = period.previous()
    prev_done = Backup.objects.filter(_in(prev, "created_at"), status__in=[BackupStatus.SUCCEEDED, BackupStatus.FAILED])
    prev_ok = prev_done.filter(status=BackupStatus.SUCCEEDED).count()
    prev_total = prev_done.count()
    with_backup = [r for r in items if _f(r).ok_data_as_of is not None]
    immutable = [r for r in with_backup if _f(r).ok_immutable_until and _f(r).ok_immutable_until > now]
    findings = sum(1 for r in items for c in r.checks if c.level == Level.BREACH)
    top = [f"{r.asset.name}: {r.problems[0].reason}" for r in worst_first(items) if r.problems][:5]
    return Section(
        "summary",
        "Executive summary",
        fields=[
            Field(
                "rag",
                "Readiness (RAG)",
                rag,
                note=f"{counts[Level.OK]} ok, {counts[Level.RISK]} at risk, {counts[Level.BREACH]} in breach",
            ),
            Field(
                "critical_tested",
                "Critical (tier 0-1) assets restore-tested in the period",
                _rate(len(tested), len(critical)),
                note="A drill recorded for the asset in the period; measured RTO/RPO per run are in Restore tests.",
            ),
            Field("backup_success", "Backup success rate in the period", _rate(ok, len(done))),
            Field(
                "immutable_coverage",
                "Immutable coverage (newest good backup locked)",
                _rate(len(immutable), len(with_backup)),
            ),
            Field("open_findings", "Open high-severity findings (checks in breach)", findings),
            Field("trend", f"Backup success rate, previous period ({prev.label})", _rate(prev_ok, prev_total)),
        ],
        tables=[
            Table("top_risks", "Top risks", ["Risk"], [[t] for t in top], empty="No asset is at risk or in breach.")
        ],
    )


def _restore_order(assets: Sequence[Any]) -> dict[int, int]:
    """Restoration priority: upstream before downstream, then tier, then name."""
    ids = {a.pk for a in assets}
    deps = [(u, d) for u, d in Dependency.objects.values_list("upstream_id", "downstream_id") if u in ids and d in ids]
    waiting = Counter(d for _, d in deps)
    by_id = {a.pk: a for a in assets}
    ready = sorted((a for a in assets if not waiting[a.pk]), key=lambda a: (a.tier, a.name))
    order: dict[int, int] = {}
    while ready:
        asset = ready.pop(0)
        order[asset.pk] = len(order) + 1
        for u, d in deps:
            if u == asset.pk:
                waiting[d] -= 1
                if waiting[d] == 0:
                    ready.append(by_id[d])
        ready.sort(key=lambda a: (a.tier, a.name))
    for asset in sorted(assets, key=lambda a: (a.tier, a.name)):  # a cycle: list the rest last
        order.setdefault(asset.pk, len(order) + 1)
    return order


def _inventory(period: Period, items: list[AssetReadiness]) -> Section:
    assets = [r.asset for r in items]
    order = _restore_order(assets)
    up = Counter(Dependency.objects.values_list("downstream_id", flat=True))
    down = Counter(Dependency.objects.values_list("upstream_id", flat=True))
    rows = []
    for a in sorted(assets, key=lambda a: order[a.pk]):
        p = a.policy
        rows.append(
            [
                order[a.pk],
                f"{a.name} ({a.get_kind_display()})",
                a.owner_team,
                f"{a.environment} / {a.region}",
                ", ".join(a.data_classes) or None,
                a.tier,
                f"{p.mtd_minutes} / {p.rto_minutes} / {p.rpo_minutes}" if p else None,
                f"{up[a.pk]} up / {down[a.pk]} down",
                a.vault.region if a.vault else None,
                None,  # RoPA processing-activity id
            ]
        )
    added = [[a.name, ts(a.created_at)] for a in assets if period.start <= a.created_at < period.end]
    return Section(
        "inventory",
        "Asset inventory and criticality analysis",
        intro="HIPAA §164.308(a)(7)(ii)(E); the restoration order puts what others depend on first.",
        tables=[
            Table(
                "assets",
                "Assets",
                [
                    "Restore order",
                    "Asset (type)",
                    "Owner",
                    "Env / region",
                    "Data classes",
                    "Tier",
                    "MTD / RTO / RPO (min)",
                    "Dependencies",
                    "Backup region",
                    "RoPA id",
                ],
                rows,
                empty="No assets in the inventory.",
            ),
            Table(
                "added",
                "Added in the period",
                ["Asset", "Added"],
                added,
                empty="No assets were added.",
                note="Removed assets are not recorded; the inventory review date is not recorded.",
            ),
        ],
        fields=[Field("processors", "Processors / sub-processors", None)],
    )


def _backups(
    period: Period, items: list[AssetReadiness], backups: list[Backup], now: datetime, doc: ReportDocument
) -> Section:
    rows = []
    measured = []
    gaps = []
    for r in sorted(items, key=lambda r: r.asset.name):
        a, p = _f(r), r.asset.policy
        age = r.backup_age
        rows.append(
            [
                a.name,
                p.get_strategy_display() if p else None,
                f"{p.backup_cadence_minutes} min" if p else None,
                ts(a.ok_data_as_of),
                short_duration(age) if age is not None else None,
                f"{p.rpo_minutes} min" if p else None,
                ("within" if age <= timedelta(minutes=p.rpo_minutes) else "past") if age is not None and p else None,
                ("yes" if age <= NPRM_BACKUP_AGE else "no") if age is not None else None,
                a.ok_key_id or None,
                f"{p.retention_days} d" if p else None,
            ]
        )
        if p is not None:
            measured.append(Measured(a.name, age, timedelta(minutes=p.rpo_minutes)))
        if a.ok_data_as_of is None or a.last_drill_at is None:
            why = "no good backup" if a.ok_data_as_of is None else "backup never restore-tested (no drill)"
            gaps.append([a.name, a.tier, why])
    if measured:
        doc.charts["rpo"] = (
            backup_age_vs_rpo_chart(measured),
            "Age of each asset's newest good backup at generation time as a share of its RPO; amber from 80 %.",
        )
    done = [b for b in backups if b.status in (BackupStatus.SUCCEEDED, BackupStatus.FAILED)]
    failed = [b for b in done if b.status == BackupStatus.FAILED]
    fixed_after = {}
    for b in failed:
        nxt = (
            Backup.objects.filter(asset=b.asset, status=BackupStatus.SUCCEEDED, created_at__gt=b.created_at)
            .order_by("created_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        fixed_after[b.pk] = short_duration(nxt - b.finished_at) if nxt and b.finished_at else None
    return Section(
        "backups",
        "Backup coverage",
        intro="HIPAA §164.308(a)(7)(ii)(A); GDPR Art. 32(1)(c).",
        fields=[
            Field("jobs", "Backup jobs finished in the period", len(done)),
            Field("succeeded", "Succeeded", len(done) - len(failed)),
            Field("failed", "Failed", len(failed)),
            Field("rate", "Success rate", _rate(len(done) - len(failed), len(done))),
            Field("offsite", "Copies off-site / cross-region / cross-account (3-2-1)", None),
            Field("kms_rotation", "KMS key rotation", None),
            Field("required_retention", "Retention required (HIPAA documentation)", "6 years (§164.316(b)(2))"),
        ],
        charts=["rpo"] if measured else [],
        tables=[
            Table(
                "per_asset",
                "Per asset",
                [
                    "Asset",
                    "Method",
                    "Every",
                    "Last good backup",
                    "Age",
                    "RPO",
                    "vs RPO",
                    "≤ 48 h (NPRM, proposed)",
                    "Key id",
                    "Retention",
                ],
                rows,
                empty="No assets in the inventory.",
            ),
            Table(
                "failures",
                "Failed jobs in the period",
                ["Asset", "Failed at", "Cause", "Fixed after"],
                [[b.asset.name, ts(b.finished_at), b.error, fixed_after[b.pk]] for b in failed],
                empty="No backup failed in the period." if done else "No backup ran in the period.",
            ),
            Table("gaps", "Coverage gaps", ["Asset", "Tier", "Gap"], gaps, empty="No gaps."),
        ],
    )


def _immutable(items: list[AssetReadiness]) -> Section:
    vaults = list(Vault.objects.annotate(n=Count("assets")).order_by("name"))
    rows = [
        [v.name, v.get_kind_display(), v.region, "object lock (WORM)" if v.worm_capable else "none", v.n, None, None]
        for v in vaults
    ]
    drift = [[r.asset.name, c.reason] for r in items for c in r.checks if c.name == "worm" and c.level > Level.OK]
    return Section(
        "immutable",
        "Immutable-backup status",
        tables=[
            Table(
                "vaults",
                "Backup locations",
                [
                    "Vault",
                    "Kind",
                    "Region",
                    "WORM mechanism",
                    "Assets",
                    "Lock mode / Vault Lock state",
                    "Cross-account / MFA-delete",
                ],
                rows,
                empty="No vaults configured.",
            ),
            Table("drift", "Drift findings", ["Asset", "Finding"], drift, empty="No WORM drift found."),
        ],
        fields=[Field("config_snapshots", "Configuration snapshots with hashes", None)],
    )


def _restore_tests(
    period: Period, items: list[AssetReadiness], doc: ReportDocument, runs: Sequence[MeasuredRun]
) -> Section:
    events = list(AuditEvent.objects.filter(_in(period, "recorded_at"), action="asset.drill_recorded").order_by("seq"))
    by_id = {str(r.asset.public_id): r.asset for r in items}
    rows = []
    for e in events:
        asset = by_id.get(e.object_id)
        p = e.payload
        rows.append(
            [
                e.seq,
                ts(e.recorded_at),
                asset.name if asset else e.object_id,
                p.get("outcome") or "recorded",
                None,
                None,
                p.get("evidence") or None,
            ]
        )
    critical = [r for r in items if r.asset.tier in CRITICAL_TIERS]
    tested = [r for r in critical if r.asset.last_drill_at and period.start <= r.asset.last_drill_at < period.end]
    untested = sorted(
        (r.asset for r in items), key=lambda a: (a.last_drill_at is not None, a.last_drill_at or a.created_at)
    )
    oldest = untested[0] if untested else None
    # The newest run in the period that measured an RTO for the asset (runs come oldest first).
    achieved: dict[str, int] = {}
    for run in runs:
        if run.rto_achieved_s is not None:
            for name in run.assets:
                achieved[name] = run.rto_achieved_s
    rto = [
        Measured(
            r.asset.name,
            timedelta(seconds=achieved[r.asset.name]) if r.asset.name in achieved else None,
            timedelta(minutes=r.asset.policy.rto_minutes),
        )
        for r in sorted(critical, key=lambda r: r.asset.name)
        if r.asset.policy
    ]
    if rto:
        doc.charts["rto"] = (
            achieved_vs_target_chart(rto, title="RTO achieved in restore tests vs target (tier 0-1)"),
            "RTO measured by the newest recovery run in the period that restored the asset (outage start → "
            "service verified), as a share of its policy's target; “not measured” where no run restored it.",
        )
    run_rows = [
        [
            run.reference,
            run.mode,
            run.status,
            ", ".join(run.assets) or None,
            ts(run.finished_at),
            f"{_secs(run.rto_achieved_s)} / {_secs(run.rto_target_s)}" if run.rto_achieved_s is not None else None,
            f"{_secs(run.rpo_achieved_s)} / {_secs(run.rpo_target_s)}" if run.rpo_achieved_s is not None else None,
        ]
        for run in runs
    ]
    return Section(
        "restore_tests",
        "Restore tests",
        intro="HIPAA §164.308(a)(7)(ii)(B), (D); GDPR Art. 32(1)(d).",
        charts=["rto"] if rto else [],
        fields=[
            Field("coverage", "Tier 0-1 assets restore-tested in the period", _rate(len(tested), len(critical))),
            Field(
                "oldest_untested",
                "Oldest untested asset",
                f"{oldest.name} (last drill {day(oldest.last_drill_at) or 'never'})" if oldest else None,
            ),
        ],
        tables=[
            Table(
                "tests",
                "Tests recorded in the period",
                ["Seq", "Recorded", "Asset", "Outcome", "RTO achieved", "RPO achieved", "Evidence"],
                rows,
                empty="No restore test was recorded in the period.",
            ),
            Table(
                "runs",
                "Recovery runs finished in the period",
                ["Run", "Mode", "Status", "Assets", "Finished", "RTO achieved / target", "RPO achieved / target"],
                run_rows,
                empty="No recovery run finished in the period.",
            ),
        ],
    )


def _replication() -> Section:
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


def _plans() -> Section:
    return Section(
        "plans",
        "Contingency-plan testing and revision",
        intro="HIPAA §164.308(a)(7)(ii)(D); §164.316(b)(2)(iii).",
        fields=[
            Field("dr_plan", "DR plan: version, last reviewed, last revised, approver", None),
            Field("backup_plan", "Backup plan", None),
            Field("emergency_plan", "Emergency-mode operation plan", None),
            Field("ir_plan", "Incident-response plan", None),
            Field("next_review", "Next review due", None),
        ],
    )


def _access() -> Section:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    people = list(User.objects.filter(is_active=True).order_by("role", "username"))
    with_mfa = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    roles = Counter(u.get_role_display() for u in people)
    return Section(
        "access",
        "Access review",
        intro="Supports HIPAA §164.308(a)(3)-(4), §164.312(a).",
        fields=[
            Field("accounts", "Active accounts", len(people)),
            Field("mfa", "MFA coverage", _rate(sum(1 for u in people if u.pk in with_mfa), len(people))),
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


def _audit_controls(period: Period, event_count: int) -> Section:
    from django.db import connection

    from dr_portal.audit import guards

    actions = Counter(
        a.split(".")[0] for a in AuditEvent.objects.filter(_in(period, "recorded_at")).values_list("action", flat=True)
    )
    runs = list(AuditVerification.objects.filter(_in(period, "finished_at")).order_by("finished_at"))
    checkpoints = AuditCheckpoint.objects.filter(_in(period, "signed_at"))
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
            Field("checkpoints", "Checkpoints signed in the period", checkpoints.count()),
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


def _gdpr(by: User) -> Section:
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


def _nprm(items: list[AssetReadiness], now: datetime) -> Section:
    rows = []
    for r in sorted(items, key=lambda r: (r.asset.tier, r.asset.name)):
        p = r.asset.policy
        rows.append(
            [
                r.asset.name,
                ("yes" if timedelta(minutes=p.rto_minutes) <= NPRM_RESTORE else "no") if p else None,
                ("yes" if r.backup_age <= NPRM_BACKUP_AGE else "no") if r.backup_age is not None else None,
            ]
        )
    return Section(
        "nprm",
        f"NPRM gap view ({NPRM})",
        tables=[
            Table(
                "nprm",
                "Per system",
                ["Asset", "RTO target ≤ 72 h", "Newest backup ≤ 48 h"],
                rows,
                empty="No assets in the inventory.",
            )
        ],
        fields=[
            Field("baa_clause", "BA 24 h contingency-activation clause in BAAs", None),
            Field("annual_audit", "Annual compliance audit", None),
            Field("scans", "Vulnerability scans every 6 months / annual penetration test", None),
        ],
    )


def _findings(items: list[AssetReadiness]) -> Section:
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


def _attest() -> Section:
    rows = [[role, None, None, None] for role in ("Security Officer", "DPO", "DR owner", "Compliance")]
    return Section(
        "attestation",
        "Attestation and sign-off",
        tables=[Table("signoff", "Sign-off", ["Role", "Name", "Date", "Signature"], rows)],
    )


def _appendix(doc: ReportDocument, items: list[AssetReadiness]) -> Section:
    points = list(
        RecoveryPoint.objects.good()
        .filter(asset__in=[r.asset.pk for r in items])
        .select_related("asset", "vault")
        .order_by("asset__name", "-data_as_of")
    )
    newest: dict[int, RecoveryPoint] = {}
    for point in points:
        newest.setdefault(point.asset_id, point)
    rows: list[list[Any]] = [
        [f"manifest of {p.asset.name} @ {ts(p.data_as_of)}", p.manifest_sha256, f"{p.vault.name}: {p.public_id}"]
        for p in newest.values()
    ]
    return Section(
        "appendix",
        "Appendices",
        tables=[
            Table(
                "evidence_index",
                "Evidence index (newest good recovery point per asset)",
                ["Artefact", "SHA-256", "Location / version id"],
                rows,
                empty="No recovery points.",
            )
        ],
        fields=[
            Field("checkpoint_note", "Checkpoint note", doc.anchor.text if doc.anchor else None),
            Field("verification_output", "audit_verify output", doc.verification.summary if doc.verification else None),
        ],
    )
