"""What the reports print from recorded facts: evidence.json, achieved RTO, runs, the profile, determinations."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.pdf import verify_pdf
from incidents.models import Incident, ReportKind
from incidents.services.reports import report_path, report_request
from inventory.models import Asset
from tests.reports.compliance_support import build, closed_incident, evidence_of, reading_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_evidence_json_is_plain_json(report_env: Path, compliance: User) -> None:
    report = build(
        report_request(
            kind=ReportKind.READINESS, by=compliance, period_first=date(2026, 1, 1), period_last=date(2026, 1, 31)
        )
    )
    raw = verify_pdf(report_path(report).read_bytes()).attachments["evidence.json"]
    parsed = json.loads(raw)
    assert parsed["schema"] == "drp.report-evidence/1"
    assert datetime.fromisoformat(parsed["report"]["generated_at"].replace("Z", "+00:00")).tzinfo == UTC


def test_incident_report_prints_the_rto_a_recovery_run_achieved(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    from incidents.runs.models import RecoveryRun
    from tests.factories import RecoveryPlanFactory

    incident = closed_incident(commander, compliance, estate)
    started = timezone.now() - timedelta(hours=2)
    run = RecoveryRun.objects.create(
        incident=incident, plan=RecoveryPlanFactory.create(), plan_version=1, mode="recovery", status="succeeded",
        requested_by=commander, outage_started_at=started, service_verified_at=started + timedelta(minutes=42),
        finished_at=started + timedelta(minutes=43), rto_target_seconds=3600, rpo_target_seconds=900,
        achieved_rto_seconds=42 * 60, achieved_rpo_seconds=600,
    )  # fmt: skip
    run.assets.set([estate[0]])
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    flat = reading_order(report_path(report))
    assert run.reference in flat
    assert "42m / 1h 00m" in flat  # the run's RTO, achieved / target, in the runs table and the chart
    assert "10m / 15m" in flat  # its RPO
    restore = next(t for s in evidence_of(report)["sections"] for t in s["tables"] if t["key"] == "restore")
    scoring = next(r for r in restore["rows"] if r[0] == "fraud-scoring")
    assert scoring[-2:] == [run.reference, "42m"]
    features = next(r for r in restore["rows"] if r[0] == "feature-store")
    assert features[-2:] == [None, None]  # no run restored it: not recorded


def test_readiness_report_lists_recovery_runs_in_the_period(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    from incidents.runs.models import RecoveryRun
    from incidents.services.drills import drill_start
    from tests.factories import RecoveryPlanFactory

    now = timezone.now()
    drill = drill_start(assets=[estate[0]], scenario="Restore the scoring model", by=commander, commander=commander)
    run = RecoveryRun.objects.create(
        incident=drill, plan=RecoveryPlanFactory.create(), plan_version=1, mode="drill", status="succeeded",
        requested_by=commander,
        outage_started_at=now - timedelta(hours=1), service_verified_at=now - timedelta(minutes=25),
        finished_at=now - timedelta(minutes=20), rto_target_seconds=3600, rpo_target_seconds=900,
        achieved_rto_seconds=35 * 60, achieved_rpo_seconds=300,
    )  # fmt: skip
    run.assets.set([estate[0]])
    report = build(
        report_request(
            kind=ReportKind.READINESS,
            by=compliance,
            period_first=now.date() - timedelta(days=1),
            period_last=now.date(),
        )
    )
    flat = reading_order(report_path(report))
    assert run.reference in flat and "35m / 1h 00m" in flat and "5m / 15m" in flat
    tables = {t["key"]: t for s in evidence_of(report)["sections"] for t in s["tables"]}
    assert [r[0] for r in tables["runs"]["rows"]] == [run.reference]
    # The drill's row carries what its run achieved, not "not recorded".
    (row,) = tables["drills"]["rows"]
    assert row[0] == drill.reference
    assert row[-1] == f"{run.reference}: RTO 35m / 1h 00m, RPO 5m / 15m"


def test_both_reports_print_the_organisation_profile(
    report_env: Path, admin: User, commander: User, compliance: User, estate: list[Asset]
) -> None:
    from dr_portal.accounts.services import organisation_update, processor_add

    organisation_update(
        changes={"legal_name": "Acme Health SAS", "registration_numbers": "SIREN 123 456 789",
                 "dpo_name": "Dana Protect", "dpo_email": "dpo@acme.example", "dpo_phone": "+33 1 23 45 67 89",
                 "security_officer_name": "Sam Secure", "public_contact": "0800 123 456"},
        by=admin,
    )  # fmt: skip
    processor_add(name="CloudBackup Ltd", kind="processor", notice_hours=24, by=admin)
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    flat = reading_order(report_path(report))
    assert "Acme Health SAS" in flat and "SIREN 123 456 789" in flat and "CloudBackup Ltd" in flat
    sections = {s["key"]: s for s in evidence_of(report)["sections"]}
    fields = {f["key"]: f["value"] for f in sections["contacts"]["fields"]}
    assert fields["dpo_name"] == "Dana Protect" and fields["dpo_phone"] == "+33 1 23 45 67 89"
    assert fields["hipaa_officer"] == "Security: Sam Secure" and fields["public_contact"] == "0800 123 456"
    control = {f["key"]: f["value"] for f in sections["control"]["fields"]}
    assert control["org_legal_name"] == "Acme Health SAS"
    assert control["org_hipaa_role"] is None  # blank in the profile: printed as not recorded

    today = timezone.now().date()
    readiness = build(report_request(kind=ReportKind.READINESS, by=compliance, period_first=today, period_last=today))
    control = {f["key"]: f["value"] for s in evidence_of(readiness)["sections"] if s["key"] == "control"
               for f in s["fields"]}  # fmt: skip
    assert control["org_dpo"] == "Dana Protect, dpo@acme.example, +33 1 23 45 67 89"


def test_incident_report_prints_assessed_determinations_with_who_when_why_and_the_seq(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    from incidents.services.assessments import assessment_answer

    incident = closed_incident(commander, compliance, estate)
    # A closed incident's assessments are final; reopen this one in the database to answer them.
    Incident.objects.filter(pk=incident.pk).update(status="resolved", closed_at=None)
    incident.refresh_from_db()
    assessment_answer(
        incident=incident,
        answers={"gdpr.personal_data": "yes", "hipaa.phi_types": "names, dates of birth"},
        rationale={"gdpr.personal_data": "The scores table holds customer names."},
        by=commander,
    )
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    fields = {f["key"]: f for s in evidence_of(report)["sections"] for f in s["fields"]}
    answered = (
        AuditEvent.objects.filter(action="incident.assessment_answered")
        .payload_matches(question="gdpr.personal_data")
        .latest("seq")
    )
    assert fields["gdpr_breach"]["value"] == "Yes" and fields["gdpr_breach"]["seq"] == answered.seq
    assert "rationale: The scores table holds customer names." in fields["gdpr_breach"]["note"]
    assert fields["phi_types"]["value"] == "names, dates of birth"
    # Nobody decided these: they say so, never "no".
    assert fields["hipaa_breach"]["value"] == "not yet assessed"
    assert fields["ai_serious"]["value"] == "not yet assessed"
    assert "not yet assessed" in reading_order(report_path(report))


def test_readiness_report_prints_each_plans_version_and_who_revised_it(
    report_env: Path, admin: User, commander: User, compliance: User, estate: list[Asset]
) -> None:
    """The contingency-plan section printed "not recorded" for the plans' versions: its fields were never filled."""
    from inventory.services import plan_default_data, plan_save

    plan = plan_save(data=plan_default_data(assets=estate, name="Restore the scoring estate"), by=admin)
    data = plan_default_data(assets=estate, name="Restore the scoring estate")
    data["description"] = "Second revision: the feature store first."
    plan = plan_save(data=data, plan=plan, by=commander)
    assert plan.version == 2
    today = timezone.now().date()
    report = build(report_request(kind=ReportKind.READINESS, by=compliance, period_first=today, period_last=today))
    (section,) = [s for s in evidence_of(report)["sections"] if s["key"] == "plans"]
    fields = {f["key"]: f["value"] for f in section["fields"]}
    assert fields["dr_plan"].startswith("1 plan; newest: Restore the scoring estate version 2, ")
    (table,) = section["tables"]
    revised = AuditEvent.objects.filter(action="plan.updated").get()
    (row,) = table["rows"]
    assert row[:2] == ["Restore the scoring estate", 2] and row[3:5] == [commander.username, revised.seq]
    flat = reading_order(report_path(report))
    assert "Recovery plans" in flat and "Restore the scoring estate" in flat
