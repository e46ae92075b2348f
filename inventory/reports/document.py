"""The readiness report assembled: what happened in the period, the state of each asset now, section by section."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dr_portal.accounts.models import User
from dr_portal.accounts.selectors import organisation_profile, processor_relationships
from dr_portal.audit.selectors import event_count_between, event_first_seq_between
from dr_portal.pdf.document import (
    Control,
    Field,
    ReportDocument,
    Section,
    anchor_and_verify,
    integrity_fields,
    retention_until,
)
from dr_portal.pdf.formatting import ts
from dr_portal.pdf.organisation import organisation_fields, processors_table
from dr_portal.pdf.wording import NPRM_STATUS, report_classification
from inventory.readiness import readiness_for
from inventory.reports.assets import inventory_section, nprm_section
from inventory.reports.backups import appendix_section, backups_section, immutable_section
from inventory.reports.charts import add_history_charts, add_rollup_charts
from inventory.reports.governance import (
    access_section,
    attest_section,
    audit_controls_section,
    findings_section,
    gdpr_section,
    plans_section,
    replication_section,
)
from inventory.reports.restore_tests import drills_recorded, restore_coverage, restore_tests_section
from inventory.reports.scope import MeasuredRun, Period
from inventory.reports.scores import score_section
from inventory.reports.summary import summary_section
from inventory.selectors import backups_created_between


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
    first_seq = event_first_seq_between(start=period.start, end=period.end)
    anchor, verification = anchor_and_verify(first_seq=first_seq)
    items = readiness_for(now=now)
    backups = backups_created_between(start=period.start, end=period.end)
    event_count = event_count_between(start=period.start, end=period.end)
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
        classification=report_classification(),
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
                f"GDPR; HIPAA Security Rule (current) and its NPRM ({NPRM_STATUS}); EU AI Act; internal policy",
            ),
            Field(
                "state_as_of",
                "Asset state as of",
                ts(now),
                note="Readiness, policies and newest backups are as at generation; activity is counted over the period",
            ),
            *integrity_fields(doc),
            *organisation_fields(organisation_profile()),
        ],
        tables=[processors_table(processor_relationships())],
    )
    recorded = drills_recorded(period)
    coverage = restore_coverage(items, runs, recorded)
    summary = summary_section(period, items, backups, now, coverage)
    add_rollup_charts(doc, summary)
    restore_tests = restore_tests_section(items, doc, runs, recorded, coverage)
    add_history_charts(doc, restore_tests, items, period, now)
    doc.sections = [
        control_section,
        summary,
        score_section(period, items, doc, now),
        inventory_section(period, items),
        backups_section(items, backups, doc),
        immutable_section(items),
        restore_tests,
        drills or missing_section("drills", "DR drills and exercises"),
        replication_section(),
        plans_section(),
        access_section(),
        audit_controls_section(period, event_count),
        incidents or missing_section("incidents", "Incidents in the period"),
        gdpr_section(by),
        nprm_section(items),
        findings_section(items),
        attest_section(),
        appendix_section(doc, items),
    ]
    return doc


def missing_section(key: str, title: str) -> Section:
    return Section(key, title, fields=[Field(key, title, None)])
