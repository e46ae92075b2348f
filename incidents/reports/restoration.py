"""Restoration of availability: recovery runs, the backup a restore used or would use, RTO/RPO achieved, NPRM check."""

from __future__ import annotations

from datetime import timedelta

from dr_portal.audit.models import AuditEvent
from dr_portal.charts import Measured, achieved_vs_target_chart, backup_age_vs_rpo_chart
from dr_portal.pdf.document import Field, ReportDocument, Section, Table
from dr_portal.pdf.formatting import achieved_of_target, duration, duration_seconds, ts
from dr_portal.pdf.wording import NPRM, NPRM_BACKUP_AGE, NPRM_RESTORE
from incidents.assessments import CurrentAnswer
from incidents.models import Incident, IncidentAsset
from incidents.reports.assessed import assessed_field, assessed_pair
from incidents.reports.run_evidence import (
    certificate_table,
    failover_facts,
    failovers_summary,
    failovers_table,
    integrity_table,
    restore_steps,
    service_restored_from_runs,
)
from incidents.reports.timeline import run_event_seq
from incidents.runs.models import RecoveryRun
from incidents.runs.selectors import runs_for_incident
from inventory.models import RecoveryPoint
from inventory.selectors import point_newest_good_before

RTO_TITLE = "RTO achieved by recovery runs vs target"
RPO_TITLE = "Data-loss window of the backup a restore used (or would use) vs RPO"


def restoration_section(
    incident: Incident,
    links: list[IncidentAsset],
    doc: ReportDocument,
    answers: dict[str, CurrentAnswer],
    events: list[AuditEvent],
) -> Section:
    start = incident.started_at or incident.detected_at or incident.declared_at
    runs = runs_for_incident(incident=incident)
    # The point a verified run restored is the backup the restore used; otherwise the one it would use.
    restored_points = {s.asset_id: s for s in restore_steps(runs) if s.point}
    switches = failover_facts(runs)
    # A run that verified the service is the evidence of "restored" when nobody recorded the time by hand.
    restored_at = incident.restored_at or service_restored_from_runs(runs)
    restored_note = "" if incident.restored_at else "from the recovery run that verified the service"
    restore_time = restored_at - start if restored_at and start else None
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
        newest = point_newest_good_before(asset_id=asset.pk, moment=start) if start else None
        if newest is not None and start is not None:
            backup_ages.append(start - newest.data_as_of)
        used = restored_points.get(asset.pk)
        point = used.point if used else newest
        # The data lost by a restore: from the point's data to the outage its run measured from, never negative.
        lost_from = used.run.outage_started_at if used else start
        age = max(timedelta(0), lost_from - point.data_as_of) if point and lost_from else None
        measured = measured_by.get(asset.pk)
        rows.append(
            [
                asset.name,
                f"{policy.rto_minutes} min" if policy else None,
                f"{policy.mtd_minutes} min" if policy else None,
                f"{policy.rpo_minutes} min" if policy else None,
                str(point.public_id) if point else None,
                ts(point.data_as_of) if point else None,
                duration(age),
                _immutable(point),
                (point.manifest_sha256[:16] if point and point.manifest_sha256 else None),
                measured.reference if measured else None,
                duration_seconds(measured.achieved_rto_seconds) if measured else None,
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
            achieved_vs_target_chart(rto, title=RTO_TITLE),
            "Per asset: the RTO measured by the newest recovery run that restored it (outage start → service "
            "verified), as a share of the policy's target; “not measured” where no run restored it.",
            RTO_TITLE,
        )
        doc.charts["rpo"] = (
            backup_age_vs_rpo_chart(rpo, title=RPO_TITLE),
            "Per asset: from the data of the point a verified run restored to that run's outage start; where no run "
            "restored the asset, from the newest good backup taken before the incident started to its start.",
            RPO_TITLE,
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
            achieved_of_target(run.achieved_rto_seconds, run.rto_target_seconds),
            achieved_of_target(run.achieved_rpo_seconds, run.rpo_target_seconds),
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
    if nprm_backup is None and links and start is not None:
        nprm_backup = "no — no good backup of an affected asset was taken before the incident started"
    return Section(
        "restoration",
        "Restoration of availability",
        intro="GDPR Art. 32(1)(c); HIPAA §164.308(a)(7)(ii)(B)-(C).",
        fields=[
            Field("outage_start", "Outage start used (start, else detected, else declared)", ts(start)),
            Field("service_restored", "Service restored", ts(restored_at), note=restored_note),
            Field(
                "incident_rto",
                "Incident-level time to restore (start → service restored)",
                duration(restore_time),
            ),
            Field("recovery_runs", "Recovery runs", len(runs)),
            Field("failovers", "Failovers (approvals, two-person rule)", failovers_summary(switches)),
            assessed_pair(
                answers,
                "response.emergency_mode",
                "response.emergency_details",
                "emergency_mode",
                "Emergency-mode operation (activated / deactivated)",
            ),
            assessed_field(
                answers,
                "response.ai_rollback",
                "ai_rollback",
                "Model / config version rolled back to; evidence snapshot hash",
            ),
            Field(
                "ai_validation",
                "Validation after restore (eval results)",
                "; ".join(
                    f"{e.payload.get('asset')}: {'passed' if e.payload.get('passed') else 'FAILED'} "
                    f"({e.payload.get('detail')})"
                    for e in events
                    if e.action == "run.golden_checked"
                )
                or answers["response.ai_validation"].label,
                run_event_seq(events, "run.golden_checked") or answers["response.ai_validation"].seq,
                "the recovery runs' golden-output checks, else the response record",
            ),
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
                "Assets: targets, the backup a restore used (or would use), and what a run achieved",
                [
                    "Asset",
                    "RTO target",
                    "MTD",
                    "RPO target",
                    "Backup used (or would use)",
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
            failovers_table(switches),
            integrity_table(runs),
            certificate_table(runs),
        ],
    )


def _immutable(point: RecoveryPoint | None) -> str | None:
    if point is None:
        return None
    if not point.vault.worm_capable:
        return "not applicable — the vault cannot lock"
    return ts(point.immutable_until) if point.immutable_until else "not locked"
