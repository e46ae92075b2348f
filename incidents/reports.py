"""The incident audit report (GDPR Art. 33/34/33(5), HIPAA §§164.400-414, AI Act Art. 73) as data.

`incident_report_document()` reads the incident, its roles, filings, review and
its timeline (the audit events carrying its id), seals the log with a
checkpoint and verifies the range the report cites; the PDF and evidence.json
are both made from the `ReportDocument` it returns. Sections and fields follow
../shared COMPLIANCE.md; what DR Portal does not record prints "not recorded".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.charts import Measured, achieved_vs_target_chart, backup_age_vs_rpo_chart, short_duration
from dr_portal.pdf.document import (
    Control,
    EventRef,
    Field,
    ReportDocument,
    Section,
    Table,
    anchor_and_verify,
    day,
    event_ref,
    integrity_fields,
    retention_until,
    ts,
    yes_no,
)
from incidents.clocks import ClockState
from incidents.models import (
    ActionItem,
    Category,
    DetectionSource,
    Filing,
    Incident,
    IncidentAsset,
    IncidentRole,
    IncidentStatus,
    Regime,
    Review,
    RoleAssignment,
    Severity,
)
from incidents.selectors import incident_board
from inventory.models import RecoveryPoint

NPRM = "HIPAA Security Rule NPRM (90 FR 898, Jan 2025): proposed, not in force"
NPRM_RESTORE = timedelta(hours=72)
NPRM_BACKUP_AGE = timedelta(hours=48)

# Roles COMPLIANCE.md asks for that DR Portal's incident roles do not have (yet).
UNMODELLED_ROLES = ("Security Officer (HIPAA)", "Legal", "AI-system owner")


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _event_summary(event: AuditEvent) -> str:
    p = event.payload
    action = event.action
    if action == "incident.status_changed":
        text = f"{p.get('from')} → {p.get('to')}"
        return f"{text}: {p['reason']}" if p.get("reason") else text
    if action == "incident.facts_updated":
        return "changed " + ", ".join(sorted(p.get("changed", {})))
    if action in ("incident.role_assigned", "incident.role_relieved"):
        return f"{p.get('role')}: {p.get('user', '')}"
    if action == "incident.severity_changed":
        return f"{p.get('from')} → {p.get('to')} ({p.get('rule', '')})"
    if action == "incident.filing_recorded":
        return f"{p.get('regime')} {p.get('phase')} to {p.get('recipient')}"
    if action == "incident.declared":
        return f"{p.get('reference')} {p.get('title')}"
    text = p.get("body") or p.get("title") or p.get("reason") or p.get("summary") or ""
    return str(text)[:160]


def _seq_of_fact(events: list[AuditEvent], field_name: str) -> int | None:
    """The newest facts_updated event that set `field_name`."""
    for event in reversed(events):
        if event.action == "incident.facts_updated" and field_name in event.payload.get("changed", {}):
            return event.seq
    return None


def _seq_of_status(events: list[AuditEvent], status: str) -> int | None:
    for event in reversed(events):
        if event.action == "incident.status_changed" and event.payload.get("to") == status:
            return event.seq
    return None


def _first(events: list[AuditEvent], action: str) -> AuditEvent | None:
    return next((e for e in events if e.action == action), None)


def _person(user: User | None) -> str | None:
    if user is None:
        return None
    name = user.get_full_name().strip()
    return f"{user.username} (#{user.pk}{', ' + name if name else ''})"


def incident_report_document(
    *, incident: Incident, report_id: str, version: int, by: User, now: datetime
) -> ReportDocument:
    """Everything the incident audit report says, as data. Takes a checkpoint (writes to the audit log)."""
    events = list(AuditEvent.objects.filter(incident_id=incident.public_id).select_related("personal").order_by("seq"))
    refs = [event_ref(e, summary=_event_summary(e)) for e in events]
    anchor, verification = anchor_and_verify(first_seq=events[0].seq if events else None)
    links = list(IncidentAsset.objects.filter(incident=incident).select_related("asset", "asset__policy"))
    assignments = list(
        RoleAssignment.objects.filter(incident=incident).select_related("user", "assigned_by", "relieved_by")
    )
    filings = list(Filing.objects.filter(incident=incident).select_related("recorded_by"))
    items = list(ActionItem.objects.filter(incident=incident).select_related("owner"))
    review = Review.objects.filter(incident=incident).select_related("updated_by", "signed_off_by").first()
    board = incident_board(incident=incident, now=now)
    draft = not incident.is_closed
    holders = sorted({a.user.username for a in assignments if a.relieved_at is None})
    control = Control(
        report_id=report_id,
        kind="incident",
        title=f"Incident audit report — {incident.reference}",
        subtitle=incident.title,
        version=version,
        status="draft" if draft else "final",
        generated_at=now,
        generated_by=by.username,
        generated_by_id=by.pk,
        classification=_classification(incident),
        distribution="Compliance officers and administrators of DR Portal"
        + (f"; incident role holders: {', '.join(holders)}" if holders else ""),
        retention_until=retention_until(now),
        legal_hold=None,
    )
    doc = ReportDocument(
        control=control,
        sections=[],
        events=refs,
        anchor=anchor,
        verification=verification,
        subject={
            "incident": str(incident.public_id),
            "public_id": str(incident.public_id),
            "reference": incident.reference,
            "kind": incident.kind,
            "status": incident.status,
        },
    )
    doc.sections = [
        Section(
            "control",
            "Document control and integrity",
            intro=(
                "DRAFT: the incident is not closed, so facts may still change; a later version supersedes this one."
                if draft
                else "Final: the incident is closed."
            ),
            fields=integrity_fields(doc),
        ),
        _summary(incident, events, board, filings),
        _identification(incident, events, links),
        _roles(assignments, events),
        Section(
            "timeline",
            "Timeline",
            intro=(
                f"All {len(refs)} audit events carrying this incident's id, oldest first. Filters: none; events "
                "about the affected assets that do not carry the incident id (backups, inventory edits) are not "
                "part of the incident's timeline. Each row's full hash and prev_hash are in evidence.json "
                "(audit.events) and are sealed by the anchoring checkpoint."
            ),
            fields=[Field("occurred_at", "Occurred at (as distinct from recorded at)", None)],
            timeline=True,
        ),
        _technical(incident, review, links),
        _impact(incident, events),
        Section(
            "consequences",
            "Likely consequences",
            intro="GDPR Art. 33(3)(c).",
            fields=[
                Field("consequences_subjects", "For data subjects", None),
                Field("consequences_org", "For the organisation", None),
                Field("consequences_ai", "AI-specific harms (wrong outputs acted on, fundamental rights)", None),
            ],
        ),
        _measures(incident, events, items),
        _restoration(incident, events, links, doc),
        _notifications(incident, filings, board),
        _contacts(assignments),
        _evidence(incident, links, refs, doc),
        _lessons(review, items),
        _signoff(review),
        _register(incident, filings, items, board),
    ]
    return doc


def _classification(incident: Incident) -> str:
    from django.conf import settings

    base: str = settings.REPORT_CLASSIFICATION
    if incident.phi:
        return f"{base} (PHI)" if "PHI" not in base else base
    return base


def _summary(incident: Incident, events: list[AuditEvent], board: Any, filings: list[Filing]) -> Section:
    facts = [e for e in events if e.action == "incident.facts_updated"]
    decided = facts[-1] if facts else _first(events, "incident.declared")
    by = decided.actor_label if decided else None
    at = ts(decided.recorded_at) if decided else None
    seq = decided.seq if decided else None
    note = f"decided by {by} at {at}; rationale not recorded" if decided else ""
    gdpr = incident.personal_data or incident.special_categories
    hipaa = incident.phi and not incident.data_encrypted
    ai = incident.ai_serious or incident.ai_death or incident.ai_widespread or incident.ai_critical_infra
    rows = [
        [
            c.label,
            c.rule,
            ts(c.starts_at),
            ts(c.due_at),
            ts(c.filed_at),
            {
                ClockState.MET: "met",
                ClockState.LATE: "missed (filed late)",
                ClockState.OVERDUE: "missed",
                ClockState.WAITING: "start not recorded",
            }.get(c.state, f"open ({c.state.label})"),
        ]
        for c in board.clocks
    ]
    return Section(
        "summary",
        "Executive summary",
        paragraphs=[incident.summary] if incident.summary else [],
        fields=[
            Field("narrative", "Narrative", incident.summary or None),
            Field("status", "Current status", _label(IncidentStatus, incident.status)),
            Field("gdpr_breach", "GDPR: personal-data breach?", yes_no(gdpr), seq, note),
            Field(
                "gdpr_notifiable",
                "GDPR: notifiable to the authority (risk)?",
                yes_no(gdpr) if gdpr else "no",
                seq,
                "follows from the personal-data flag; a risk assessment is not recorded",
            ),
            Field("gdpr_high_risk", "GDPR Art. 34: high risk to data subjects?", None),
            Field(
                "hipaa_breach",
                "HIPAA: breach of unsecured PHI?",
                yes_no(hipaa),
                seq,
                "PHI was encrypted (safe harbour)" if incident.phi and incident.data_encrypted else note,
            ),
            Field("hipaa_4factor", "HIPAA 4-factor risk assessment outcome", None),
            Field("ai_serious", "EU AI Act: serious incident?", yes_no(ai), seq, note),
            Field("other_regimes", "Contractual / other (NIS2, state laws)", None),
        ],
        tables=[
            Table(
                "deadlines",
                "Deadlines",
                ["Regime", "Rule", "Clock start", "Due", "Done (first filing)", "Met / missed"],
                rows,
                empty="No regulatory clock applies to the facts recorded (no personal data, PHI or AI Act flag).",
                note="Processor → controller and BA → covered-entity clocks are not recorded by DR Portal.",
            )
        ],
    )


def _identification(incident: Incident, events: list[AuditEvent], links: list[IncidentAsset]) -> Section:
    declared = _first(events, "incident.declared")
    dseq = declared.seq if declared else None
    restored_seq = _seq_of_fact(events, "restored_at") or _seq_of_status(events, IncidentStatus.RESOLVED)
    times = [
        Field(
            "started_at",
            "Incident start (estimated)",
            ts(incident.started_at),
            _seq_of_fact(events, "started_at") or (dseq if incident.started_at else None),
        ),
        Field("detected_at", "Detected", ts(incident.detected_at), _seq_of_fact(events, "detected_at") or dseq),
        Field("declared_at", "Declared", ts(incident.declared_at), dseq),
        Field("aware_at", "GDPR “became aware”", ts(incident.aware_at), _seq_of_fact(events, "aware_at")),
        Field("discovered_at", "HIPAA “discovered”", ts(incident.discovered_at), _seq_of_fact(events, "discovered_at")),
        Field("ai_aware_at", "AI Act: provider aware", ts(incident.ai_aware_at), _seq_of_fact(events, "ai_aware_at")),
        Field("contained_at", "Contained", ts(incident.contained_at), _seq_of_fact(events, "contained_at")),
        Field(
            "restored_at", "Service restored", ts(incident.restored_at), restored_seq if incident.restored_at else None
        ),
        Field("data_restored_at", "Data fully restored", None),
        Field("closed_at", "Closed", ts(incident.closed_at), _seq_of_status(events, IncidentStatus.CLOSED)),
    ]
    rows = [
        [
            link.asset.name,
            str(link.asset.public_id),
            link.asset.owner_team,
            f"tier {link.asset.tier}",
            f"{link.asset.environment} / {link.asset.region}",
            ", ".join(link.asset.data_class_labels) or None,
            link.get_source_display(),
        ]
        for link in links
    ]
    return Section(
        "identification",
        "Incident identification",
        fields=[
            Field("reference", "Incident ID", f"{incident.reference} ({incident.public_id})"),
            Field("title", "Title", incident.title),
            Field("kind", "Kind", "DR drill" if incident.kind == "drill" else "Real incident"),
            Field("category", "Category", _label(Category, incident.category)),
            Field("severity", "Severity", _label(Severity, incident.severity)),
            Field("severity_rule", "Rule that set the severity", incident.severity_rule or None),
            Field("source", "Detection source", _label(DetectionSource, incident.source)),
            *times,
        ],
        tables=[
            Table(
                "assets",
                "Affected AI systems and assets",
                ["Asset", "Asset ID", "Owner", "Criticality", "Environment / region", "Data classification", "Linked"],
                rows,
                empty="No assets are linked to this incident.",
            )
        ],
    )


def _roles(assignments: list[RoleAssignment], events: list[AuditEvent]) -> Section:
    def seq_for(a: RoleAssignment, action: str) -> int | None:
        for event in events:
            if (
                event.action == action
                and event.payload.get("role") == a.role
                and event.payload.get("user") == a.user.username
            ):
                moment = a.assigned_at if action.endswith("assigned") else a.relieved_at
                if moment is None or abs((event.recorded_at - moment).total_seconds()) < 5:
                    return event.seq
        return None

    rows: list[list[Any]] = []
    held = set()
    for a in sorted(assignments, key=lambda r: (r.assigned_at, r.pk)):
        held.add(a.role)
        assigned = seq_for(a, "incident.role_assigned")
        relieved = seq_for(a, "incident.role_relieved") if a.relieved_at else None
        refs = ", ".join(str(s) for s in (assigned, relieved) if s)
        rows.append(
            [
                _label(IncidentRole, a.role),
                _person(a.user),
                _person(a.assigned_by) or "system",
                ts(a.assigned_at),
                ts(a.relieved_at) or ("holds it" if a.relieved_at is None else None),
                refs or None,
            ]
        )
    for role in IncidentRole:
        if role not in held:
            rows.append([role.label, None, None, None, None, None])
    for name in UNMODELLED_ROLES:
        rows.append([name, None, None, None, None, None])
    return Section(
        "roles",
        "Incident command and roles",
        intro="From the role assignments and their audit events. A role nobody held prints “not recorded”.",
        tables=[
            Table(
                "assignments",
                "Assignments",
                ["Role", "Assignee", "Assigned by", "Assigned at", "Handed over / relieved at", "Seq"],
                rows,
            )
        ],
        fields=[
            Field(
                "break_glass",
                "Break-glass / emergency access used",
                None,
                note="DR Portal has no break-glass accounts; emergency access outside it is not recorded here.",
            )
        ],
    )


def _technical(incident: Incident, review: Review | None, links: list[IncidentAsset]) -> Section:
    return Section(
        "technical",
        "Technical analysis",
        fields=[
            Field("nature", "Nature of the incident (Art. 33(3)(a))", _label(Category, incident.category)),
            Field("vector", "Attack vector / failure mode", None),
            Field(
                "root_cause",
                "Root cause",
                (review.root_cause if review and review.root_cause else None)
                or ("under investigation" if incident.is_open else None),
            ),
            Field("contributing", "Contributing factors", review.contributing_factors if review else None),
            Field("systems", "Systems and data stores affected", ", ".join(link.asset.name for link in links) or None),
            Field("backups_affected", "Were backups themselves affected?", None),
            Field(
                "model_artefacts",
                "Model artefacts affected",
                ", ".join(link.asset.name for link in links if link.asset.kind == "model") or None,
            ),
            Field(
                "integrity_check",
                "Integrity check of restored data (method, result)",
                None,
                note="Recorded by recovery runs; none is linked to this report yet.",
            ),
        ],
    )


def _impact(incident: Incident, events: list[AuditEvent]) -> Section:
    def f(key: str, label: str, value: Any) -> Field:
        return Field(key, label, value, _seq_of_fact(events, key) if value is not None else None)

    return Section(
        "impact",
        "Personal-data / PHI impact",
        fields=[
            f("personal_data", "Personal data involved", yes_no(incident.personal_data)),
            f("subject_categories", "Categories of data subjects", incident.subject_categories or None),
            f("subjects_approx", "Approximate number of data subjects", incident.subjects_approx),
            f("record_categories", "Categories of personal data records", incident.record_categories or None),
            f("records_approx", "Approximate number of records", incident.records_approx),
            f("special_categories", "Special categories (Art. 9)", yes_no(incident.special_categories)),
            f("phi", "PHI involved", yes_no(incident.phi)),
            Field("phi_types", "PHI types (§164.404(c)(1)(B))", None),
            f(
                "data_encrypted",
                "Data unintelligible (encrypted, keys not compromised)",
                yes_no(incident.data_encrypted),
            ),
            Field("hipaa_factor_1", "4-factor (1) nature and extent", None),
            Field("hipaa_factor_2", "4-factor (2) unauthorised recipient", None),
            Field("hipaa_factor_3", "4-factor (3) actually acquired or viewed", None),
            Field("hipaa_factor_4", "4-factor (4) mitigation", None),
            Field("hipaa_conclusion", "4-factor conclusion and approver", None),
            Field("by_state", "Counts by US state (§164.406 media threshold)", None),
            Field("by_member_state", "Counts by EU Member State (lead SA)", None),
            Field("transfers", "Third-country transfers involved", None),
        ],
    )


def _measures(incident: Incident, events: list[AuditEvent], items: list[ActionItem]) -> Section:
    moves = [
        [
            e.seq,
            ts(e.recorded_at),
            f"{e.payload.get('from')} → {e.payload.get('to')}",
            e.payload.get("reason") or None,
            e.actor_label,
        ]
        for e in events
        if e.action == "incident.status_changed"
    ]
    return Section(
        "measures",
        "Measures taken and proposed",
        intro="GDPR Art. 33(3)(d); HIPAA §164.404(c)(1)(C)-(D).",
        tables=[
            Table(
                "status_moves",
                "Containment, eradication and recovery (status changes)",
                ["Seq", "At", "Move", "Reason", "By"],
                moves,
                empty="The incident has not changed status.",
            ),
            Table(
                "actions",
                "What the organisation is doing (action items)",
                ["Action", "Kind", "Owner", "Due", "Status"],
                [
                    [i.title, i.get_kind_display(), i.owner.username, day(i.due_on), i.get_status_display()]
                    for i in items
                ],
                empty="No action items.",
            ),
        ],
        fields=[
            Field("mitigation_individuals", "Mitigation for individuals", None),
            Field("steps_individuals", "Steps individuals should take", None),
        ],
    )


def _newest_good_before(asset_id: int, moment: datetime) -> RecoveryPoint | None:
    return (
        RecoveryPoint.objects.filter(asset_id=asset_id, data_as_of__lte=moment)
        .filter(Q(status="ok") | Q(status="expired"))
        .order_by("-data_as_of")
        .first()
    )


def _seconds(value: int | None) -> str | None:
    return short_duration(timedelta(seconds=value)) if value is not None else None


def _restoration(
    incident: Incident, events: list[AuditEvent], links: list[IncidentAsset], doc: ReportDocument
) -> Section:
    from incidents.runs.models import RecoveryRun

    start = incident.started_at or incident.detected_at or incident.declared_at
    restore_time = incident.restored_at - start if incident.restored_at and start else None
    runs = list(
        RecoveryRun.objects.filter(incident=incident).prefetch_related("assets").select_related("requested_by")
        .order_by("created_at", "pk")
    )  # fmt: skip
    # Per asset, the newest run that measured an RTO for it: what the restore achieved.
    measured_by: dict[int, RecoveryRun] = {}
    for run in runs:
        if run.achieved_rto_seconds is not None:
            for asset in run.assets.all():
                measured_by[asset.pk] = run
    rows = []
    rto: list[Measured] = []
    rpo: list[Measured] = []
    backup_ages: list[timedelta] = []
    for link in links:
        asset, policy = link.asset, link.asset.policy
        point = _newest_good_before(asset.pk, start) if start else None
        age = start - point.data_as_of if point and start else None
        if age is not None:
            backup_ages.append(age)
        measured = measured_by.get(asset.pk)
        rows.append(
            [
                asset.name,
                f"{policy.rto_minutes} min" if policy else None,
                f"{policy.mtd_minutes} min" if policy else None,
                f"{policy.rpo_minutes} min" if policy else None,
                str(point.public_id) if point else None,
                ts(point.data_as_of) if point else None,
                short_duration(age) if age is not None else None,
                ts(point.immutable_until) if point and point.immutable_until else None,
                (point.manifest_sha256[:16] if point and point.manifest_sha256 else None),
                measured.reference if measured else None,
                _seconds(measured.achieved_rto_seconds) if measured else None,
            ]
        )
        rto.append(
            Measured(
                asset.name,
                timedelta(seconds=measured.achieved_rto_seconds)
                if measured and measured.achieved_rto_seconds is not None
                else None,
                timedelta(minutes=policy.rto_minutes) if policy else None,
            )
        )
        rpo.append(Measured(asset.name, age, timedelta(minutes=policy.rpo_minutes) if policy else None))
    if links:
        doc.charts["rto"] = (
            achieved_vs_target_chart(rto, title="RTO achieved by recovery runs vs target"),
            "Per asset: the RTO measured by the newest recovery run that restored it (outage start → service "
            "verified), as a share of the policy's target; “not measured” where no run restored it.",
        )
        doc.charts["rpo"] = (
            backup_age_vs_rpo_chart(rpo, title="Newest good backup at incident start vs RPO"),
            "Data-loss window if restored from the newest good backup taken before the incident started.",
        )
    run_rows = [
        [
            run.reference,
            run.get_mode_display(),
            run.get_status_display(),
            ", ".join(a.name for a in run.assets.all()) or None,
            run.requested_by.username if run.requested_by else None,
            ts(run.outage_started_at),
            ts(run.service_verified_at),
            ts(run.data_as_of),
            f"{_seconds(run.achieved_rto_seconds)} / {_seconds(run.rto_target_seconds)}"
            if run.achieved_rto_seconds is not None
            else None,
            f"{_seconds(run.achieved_rpo_seconds)} / {_seconds(run.rpo_target_seconds)}"
            if run.achieved_rpo_seconds is not None
            else None,
        ]
        for run in runs
    ]
    worst_age = max(backup_ages) if backup_ages else None
    nprm_restore = None if restore_time is None else ("yes" if restore_time <= NPRM_RESTORE else "no")
    nprm_backup = (
        None
        if worst_age is None or len(backup_ages) < len(links)
        else ("yes" if worst_age <= NPRM_BACKUP_AGE else "no")
    )
    return Section(
        "restoration",
        "Restoration of availability",
        intro="GDPR Art. 32(1)(c); HIPAA §164.308(a)(7)(ii)(B)-(C).",
        fields=[
            Field("outage_start", "Outage start used (start, else detected, else declared)", ts(start)),
            Field("service_restored", "Service restored", ts(incident.restored_at)),
            Field(
                "incident_rto",
                "Incident-level time to restore (start → service restored)",
                short_duration(restore_time) if restore_time is not None else None,
            ),
            Field("recovery_runs", "Recovery runs", len(runs)),
            Field("failovers", "Failovers (approvals, two-person rule, lag)", None),
            Field("emergency_mode", "Emergency-mode operation (activated / deactivated)", None),
            Field("ai_rollback", "Model / config version rolled back to; evidence snapshot hash", None),
            Field("ai_validation", "Validation after restore (eval results)", None),
            Field("nprm_72h", f"Relevant systems restored ≤ 72 h? ({NPRM})", nprm_restore),
            Field("nprm_48h", f"Last good backup ≤ 48 h old at incident start? ({NPRM})", nprm_backup),
        ],
        charts=["rto", "rpo"] if links else [],
        tables=[
            Table(
                "runs",
                "Recovery runs (restore jobs)",
                [
                    "Run",
                    "Mode",
                    "Status",
                    "Assets",
                    "Requested by",
                    "Outage start",
                    "Service verified",
                    "Data as of",
                    "RTO achieved / target",
                    "RPO achieved / target",
                ],
                run_rows,
                empty="No recovery run was started for this incident.",
            ),
            Table(
                "restore",
                "Assets: targets, the backup a restore would use, and what a run achieved",
                [
                    "Asset",
                    "RTO target",
                    "MTD",
                    "RPO target",
                    "Backup (point id)",
                    "Data as of",
                    "Data-loss window",
                    "Immutable until",
                    "Manifest SHA-256",
                    "Recovery run",
                    "RTO achieved",
                ],
                rows,
                empty="No assets are linked to this incident.",
            ),
        ],
    )


REGISTER_ROWS: list[tuple[str, str]] = [
    (Regime.GDPR_33, "Supervisory authority (Art. 33): lead SA, channel, reference, phase"),
    (Regime.GDPR_34, "Data subjects (Art. 34), or the exemption invoked"),
    ("processor", "Processor → controller notice (Art. 33(2)); sub-processors"),
    (Regime.HIPAA_INDIVIDUALS, "HIPAA individuals (§164.404): method, count, template"),
    (Regime.HIPAA_MEDIA, "Media (§164.406)"),
    (Regime.HIPAA_HHS, "HHS (§164.408): OCR portal reference, or annual log"),
    ("ba_ce", "Business associate → covered entity (§164.410)"),
    ("law_enforcement", "Law-enforcement delay (§164.412)"),
    (Regime.AI_ACT, "EU AI Act Art. 73: authority, deadline class, initial and final reports"),
    (Regime.OTHER, "Customer / contractual / insurer notices"),
]


def _notifications(incident: Incident, filings: list[Filing], board: Any) -> Section:
    due = {c.regime: c for c in board.clocks}
    rows = []
    for f in filings:
        clock = due.get(f.regime)
        within = None
        if clock is not None and clock.due_at is not None:
            within = "yes" if f.filed_at <= clock.due_at else "no"
        rows.append(
            [
                f.get_regime_display(),
                f.get_phase_display(),
                f.recipient,
                f.channel or None,
                f.reference or None,
                ts(f.filed_at),
                within,
                f.summary or None,
            ]
        )
    register = []
    for key, label in REGISTER_ROWS:
        mine = [f for f in filings if f.regime == key]
        value = "; ".join(f"{f.get_phase_display()} {ts(f.filed_at)} to {f.recipient}" for f in mine) or None
        register.append([label, value])
    reasons = [
        [r.get_regime_display(), r.reason, r.recorded_by.username, ts(r.recorded_at)]
        for r in incident.delay_reasons.select_related("recorded_by")
    ]
    return Section(
        "notifications",
        "Notifications register",
        tables=[
            Table(
                "filings",
                "Filings",
                [
                    "Regime",
                    "Phase",
                    "Recipient",
                    "Channel",
                    "Reference",
                    "Submitted",
                    "Within deadline",
                    "Content summary",
                ],
                rows,
                empty="Nothing was filed.",
            ),
            Table("register", "Register by recipient", ["Notice", "Recorded"], register),
            Table(
                "delays",
                "Reasons for delay (GDPR Art. 33(1))",
                ["Regime", "Reason", "By", "At"],
                reasons,
                empty="No reasons for delay recorded.",
            ),
        ],
    )


def _contacts(assignments: list[RoleAssignment]) -> Section:
    dpo = next((a for a in assignments if a.role == IncidentRole.COMPLIANCE and a.relieved_at is None), None)
    return Section(
        "contacts",
        "Contacts",
        intro="GDPR Art. 33(3)(b); HIPAA §164.404(c)(1)(E).",
        fields=[
            Field("dpo_name", "DPO / contact point (compliance liaison)", _person(dpo.user) if dpo else None),
            Field("dpo_email", "DPO email", dpo.user.email if dpo and dpo.user.email else None),
            Field("dpo_phone", "DPO phone", None),
            Field("hipaa_officer", "HIPAA Privacy / Security Officer", None),
            Field("public_contact", "Toll-free number / email / website / postal address given to individuals", None),
        ],
    )


def _evidence(incident: Incident, links: list[IncidentAsset], refs: list[EventRef], doc: ReportDocument) -> Section:
    rows: list[list[Any]] = [
        [
            "evidence.json (attached)",
            "in the audit log with this report's SHA-256",
            "DR Portal",
            ts(doc.control.generated_at),
            "embedded in this PDF",
        ],
    ]
    if doc.anchor:
        rows.append(
            [
                f"audit checkpoint seq {doc.anchor.seq}",
                doc.anchor.head_hash,
                "DR Portal",
                doc.anchor.signed_at,
                f"/audit/checkpoints/{doc.anchor.seq}.txt and the checkpoint export",
            ]
        )
    for link in links:
        if link.drill_evidence:
            rows.append(
                [
                    f"drill evidence: {link.asset.name}",
                    None,
                    None,
                    ts(link.drill_recorded_at),
                    link.drill_evidence[:200],
                ]
            )
    return Section(
        "evidence",
        "Evidence and chain of custody",
        tables=[
            Table("artefacts", "Evidence list", ["Artefact", "SHA-256", "Collected by", "Collected at", "Where"], rows)
        ],
        fields=[
            Field("events_cited", "Audit events cited (hashes in evidence.json)", len(refs)),
            Field(
                "verification_output",
                "Audit-log verification output",
                doc.verification.summary if doc.verification else None,
            ),
            Field(
                "checkpoint_note",
                "Checkpoint note (verifiable with the public key at /audit/pubkey)",
                doc.anchor.text if doc.anchor else None,
            ),
            Field("worm_uri", "WORM storage location of this report", None),
            Field("access_log", "Access log", "downloads are audit events report.downloaded"),
        ],
    )


def _lessons(review: Review | None, items: list[ActionItem]) -> Section:
    return Section(
        "lessons",
        "Lessons learned and CAPA",
        fields=[
            Field(
                "root_cause_summary", "Root-cause summary", review.root_cause if review and review.root_cause else None
            ),
            Field("went_well", "What went well", review.went_well if review and review.went_well else None),
            Field("went_badly", "What went badly", review.went_badly if review and review.went_badly else None),
            Field("plan_revisions", "Plan / policy / runbook revisions (§164.308(a)(7)(ii)(D))", None),
            Field("risk_analysis", "Updates to the risk analysis and criticality analysis", None),
        ],
        tables=[
            Table(
                "capa",
                "CAPA items",
                ["Item", "Kind", "Critical", "Owner", "Due", "Status", "Closed"],
                [
                    [
                        i.title,
                        i.get_kind_display(),
                        yes_no(i.critical),
                        i.owner.username,
                        day(i.due_on),
                        i.get_status_display(),
                        ts(i.closed_at),
                    ]
                    for i in items
                ],
                empty="No CAPA items.",
            )
        ],
    )


def _signoff(review: Review | None) -> Section:
    signed = review is not None and review.is_signed_off
    rows = [
        [
            "Incident Commander (review sign-off)",
            _person(review.signed_off_by) if signed and review else None,
            ts(review.signed_off_at) if signed and review else None,
            "recorded in the audit log" if signed else None,
        ],
        ["Security Officer", None, None, None],
        ["DPO", None, None, None],
        ["Compliance", None, None, None],
        ["Legal", None, None, None],
    ]
    return Section(
        "signoff", "Sign-off", tables=[Table("signoff", "Sign-off", ["Role", "Name", "Date", "Signature"], rows)]
    )


def _register(incident: Incident, filings: list[Filing], items: list[ActionItem], board: Any) -> Section:
    notified = any(f.regime == Regime.GDPR_33 for f in filings)
    breach = incident.personal_data or incident.special_categories
    return Section(
        "register",
        "Art. 33(5) breach-register entry",
        fields=[
            Field("register_facts", "Facts", incident.summary or incident.title),
            Field("register_breach", "Personal-data breach", yes_no(breach)),
            Field("register_effects", "Effects", None),
            Field("register_remedial", "Remedial action", "; ".join(i.title for i in items) or None),
            Field(
                "register_notified",
                "Notified to the supervisory authority",
                yes_no(notified) if breach else "not applicable",
            ),
            Field(
                "register_reasoning",
                "Reasoning for not notifying",
                None if breach and not notified else ("notified" if notified else "no personal data involved"),
            ),
        ],
    )


# --- Sections of the readiness report that come from incidents -------------------------


def period_drills_section(*, start: datetime, end: datetime, now: datetime) -> Section:
    """DR drills and exercises held in [start, end) (COMPLIANCE.md, readiness §7)."""
    from incidents.selectors import drill_plan

    drills = list(
        Incident.objects.drills()
        .filter(declared_at__gte=start, declared_at__lt=end)
        .prefetch_related("asset_links__asset__policy", "assignments__user", "recovery_runs")
        .order_by("declared_at", "pk")
    )
    rows = []
    for d in drills:
        outcomes = "; ".join(f"{link.asset.name}: {link.get_drill_outcome_display()}" for link in d.asset_links.all())
        people = ", ".join(sorted({f"{a.user.username} ({a.get_role_display()})" for a in d.assignments.all()}))
        achieved = "; ".join(
            f"{run.reference}: RTO {_seconds(run.achieved_rto_seconds) or '—'}, "
            f"RPO {_seconds(run.achieved_rpo_seconds) or '—'}"
            for run in d.recovery_runs.all()
            if run.achieved_rto_seconds is not None or run.achieved_rpo_seconds is not None
        )
        rows.append(
            [d.reference, d.title, ts(d.declared_at), _label(IncidentStatus, d.status), people or None,
             outcomes or None, achieved or None]
        )  # fmt: skip
    plan = drill_plan(now=now)
    enabled = [p for p in plan if p.enabled]
    next_due = min((p.due_at for p in enabled if p.due_at), default=None)
    overdue = [p.asset.name for p in plan if p.overdue]
    return Section(
        "drills",
        "DR drills and exercises",
        fields=[
            Field("drills_run", "Drills run in the period", len(drills)),
            Field("drills_scheduled", "Assets with a drill schedule", len(enabled)),
            Field("drills_overdue", "Assets whose drill is overdue now", ", ".join(overdue) if overdue else "none"),
            Field("next_drill", "Next scheduled drill due", ts(next_due)),
            Field("emergency_mode", "Emergency-mode operation plan exercised (§164.308(a)(7)(ii)(C))", None),
            Field("approval_timing", "Manual-approval workflow timing (request → approvals → execution)", None),
        ],
        tables=[
            Table(
                "drills",
                "Drills",
                [
                    "Drill",
                    "Scenario",
                    "Date",
                    "Status",
                    "Participants and roles",
                    "Outcome per asset",
                    "RTO/RPO achieved",
                ],
                rows,
                empty="No drill was run in the period.",
                note="RTO/RPO achieved: from the drill's recovery runs; the recovery runs section lists every run.",
            ),
        ],
    )


def period_incidents_section(*, start: datetime, end: datetime, now: datetime) -> Section:
    """Real incidents declared in [start, end) with their clocks (COMPLIANCE.md, readiness §12)."""
    from incidents.models import IncidentKind
    from incidents.selectors import incident_rows

    incidents = list(
        Incident.objects.filter(kind=IncidentKind.REAL, declared_at__gte=start, declared_at__lt=end)
        .prefetch_related("filings", "delay_reasons", "asset_links__asset")
        .order_by("declared_at", "pk")
    )
    rows = []
    for row in incident_rows(incidents, now=now):
        i = row.incident
        clocks = "; ".join(f"{c.label}: {'missed' if c.missed else c.state.label}" for c in row.board.clocks)
        restore = i.restored_at - (i.started_at or i.detected_at or i.declared_at) if i.restored_at else None
        rows.append(
            [
                i.reference,
                i.title,
                _label(Severity, i.severity),
                _label(IncidentStatus, i.status),
                ", ".join(link.asset.name for link in i.asset_links.all()) or None,
                short_duration(restore) if restore is not None else None,
                clocks or "no clock applies",
            ]
        )
    return Section(
        "incidents",
        "Incidents in the period",
        fields=[
            Field("incident_count", "Incidents declared in the period", len(incidents)),
            Field("recurring", "Recurring root causes", None),
        ],
        tables=[
            Table(
                "incidents",
                "Incidents",
                ["Incident", "Title", "Severity", "Status", "Affected assets", "Time to restore", "Deadlines"],
                rows,
                empty="No incident was declared in the period.",
                note="Each has its own incident audit report; time to restore is start → service restored.",
            ),
        ],
    )


def period_recovery_runs(*, start: datetime, end: datetime) -> list[Any]:
    """Recovery runs (drills and recoveries) finished in [start, end), oldest first, for the readiness report."""
    from incidents.runs.models import RecoveryRun
    from inventory.reports import MeasuredRun

    runs = (
        RecoveryRun.objects.filter(finished_at__gte=start, finished_at__lt=end)
        .prefetch_related("assets")
        .order_by("finished_at", "pk")
    )
    return [
        MeasuredRun(
            reference=run.reference,
            mode=run.get_mode_display(),
            status=run.get_status_display(),
            assets=tuple(sorted(a.name for a in run.assets.all())),
            finished_at=run.finished_at,
            rto_achieved_s=run.achieved_rto_seconds,
            rto_target_s=run.rto_target_seconds,
            rpo_achieved_s=run.achieved_rpo_seconds,
            rpo_target_s=run.rpo_target_seconds,
        )
        for run in runs
    ]
