"""The incident and readiness reports, read back from the signed PDFs: text, evidence, signature, audit log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditCheckpoint, AuditEvent
from dr_portal.audit.services import audit_append
from dr_portal.pdf import verify_pdf
from dr_portal.pdf.document import Anchor, Verification
from incidents.compliance.models import RecipientKind
from incidents.compliance.notices import notification_record
from incidents.models import GeneratedReport, Incident, ReportKind, ReportStatus
from incidents.services import (
    action_item_add,
    incident_declare,
    incident_transition,
    incident_update_facts,
    note_add,
    review_save,
    review_sign_off,
)
from incidents.services.reports import report_build, report_path, report_request, reports_reconcile
from inventory.models import Asset
from tests.broker import BrokerQueue
from tests.factories import (
    AssetFactory,
    BackupFactory,
    RecoveryPointFactory,
    RecoveryPolicyFactory,
    decide_mandatory_assessments,
    sign_required,
)
from tests.reports.conftest import page_texts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def report_env(embedded_signing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Reports and checkpoint exports in this test's own directories (exports from other tests would
    make audit_verify see a log 'rolled back' below their seq)."""
    monkeypatch.setattr(settings, "REPORTS_DIR", tmp_path / "reports")
    monkeypatch.setattr(settings, "AUDIT_CHECKPOINT_DIR", tmp_path / "checkpoints")
    yield tmp_path


@pytest.fixture
def estate(db: None) -> list[Asset]:
    policy = RecoveryPolicyFactory.create(name="tier0", rto_minutes=60, rpo_minutes=15, mtd_minutes=240)
    scoring = AssetFactory.create(name="fraud-scoring", tier=0, policy=policy, data_classes=["personal"])
    features = AssetFactory.create(name="feature-store", tier=1, policy=policy)
    before = timezone.now() - timedelta(hours=3)
    RecoveryPointFactory.create(asset=scoring, data_as_of=before)
    BackupFactory.create(asset=scoring)
    return [scoring, features]


def closed_incident(commander: User, compliance: User, assets: list[Asset]) -> Incident:
    now = timezone.now()
    incident = incident_declare(
        title="Fraud scores served from a corrupted model",
        category="integrity",
        summary="A bad model artefact was promoted; scores were wrong for 40 minutes.",
        assets=assets,
        by=commander,
        commander=commander,
        started_at=now - timedelta(hours=2),
    )
    incident_update_facts(
        incident=incident,
        changes={"personal_data": True, "aware_at": now - timedelta(hours=1), "subjects_approx": 1234},
        by=commander,
    )
    note_add(incident=incident, body="Rolled back to the previous model version.", by=commander)
    notification_record(
        incident=incident,
        kind=RecipientKind.AUTHORITY,
        recipient="CNIL",
        channel="notifications.cnil.fr",
        sent_at=now - timedelta(minutes=30),
        by=commander,
        reference="CNIL-2026-0042",
    )
    action_item_add(
        incident=incident, title="Gate promotions on eval parity", kind="preventive", owner=commander, by=commander
    )
    for status in ("investigating", "mitigating", "recovering", "resolved"):
        incident_transition(incident=incident, to=status, by=commander)
    review_save(incident=incident, changes={"root_cause": "Promotion skipped the eval gate."}, by=commander)
    review_sign_off(incident=incident, by=commander)
    decide_mandatory_assessments(incident, commander)
    closed = incident_transition(incident=incident, to="closed", by=commander)
    sign_required(closed, commander, compliance)
    return closed


def reading_order(path: Path) -> str:
    """pdftotext in reading order (no -layout): a table cell's wrapped lines stay together."""
    import subprocess

    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def build(report: GeneratedReport) -> GeneratedReport:
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    return report


def evidence_of(report: GeneratedReport) -> dict[str, Any]:
    result = verify_pdf(report_path(report).read_bytes())
    assert result.ok, result.problems
    assert isinstance(result.evidence, dict)
    return result.evidence


# --- the incident audit report -----------------------------------------------------------


def test_incident_report_has_every_section_and_the_right_figures(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    pages = page_texts(report_path(report))
    text = "\n".join(pages)
    for heading in (
        "Document control and integrity", "Executive summary", "Incident identification",
        "Incident command and roles", "Timeline", "Technical analysis", "Personal-data / PHI impact",
        "Likely consequences", "Measures taken and proposed", "Restoration of availability",
        "Notifications register", "Contacts", "Evidence and chain of custody", "Lessons learned and CAPA",
        "Sign-off", "Art. 33(5) breach-register entry", "How to verify this report",
    ):  # fmt: skip
        assert heading in text, heading
    flat = reading_order(report_path(report))
    assert incident.reference in flat and "Fraud scores served from a corrupted model" in flat
    assert "1234" in flat  # approximate data subjects
    assert "CNIL-2026-0042" in flat
    assert "Promotion skipped the eval gate." in flat
    assert "not recorded" in text  # fields DR Portal cannot know are printed, not left out
    assert "DRAFT" not in text
    assert "Status final" in " ".join(pages[0].split())
    # The GDPR clock: aware 1 h ago, filed 30 min ago: met.
    assert "met" in text
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_incident_report_evidence_matches_the_audit_log_and_is_anchored(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    evidence = evidence_of(report)
    cited = {e["seq"]: e["hash"] for e in evidence["audit"]["events"]}
    timeline = AuditEvent.objects.filter(incident_id=incident.public_id, seq__lte=report.anchor_seq)
    assert cited == dict(timeline.values_list("seq", "hash"))
    assert len(cited) >= 10
    anchor = evidence["audit"]["anchor"]
    stored = AuditCheckpoint.objects.get(seq=anchor["seq"])
    assert (stored.head_hash, stored.signature) == (anchor["head_hash"], anchor["signature"])
    assert anchor["seq"] >= max(cited)
    verification = evidence["audit"]["verification"]
    assert verification["ok"] is True and verification["last_seq"] == anchor["seq"]
    assert verification["first_seq"] == min(cited)
    assert evidence["report"]["report_id"] == report.report_id and evidence["report"]["status"] == "final"
    fields = {f["key"]: f for s in evidence["sections"] for f in s["fields"]}
    assert fields["subjects_approx"]["value"] == 1234
    assert fields["subjects_approx"]["seq"] in cited  # tied to the facts_updated event
    assert fields["checkpoint_seq"]["value"] == anchor["seq"]


def test_generation_records_the_hash_and_seals_it_with_a_checkpoint(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    import hashlib

    data = report_path(report).read_bytes()
    assert report.sha256 == hashlib.sha256(data).hexdigest() and report.size_bytes == len(data)
    event = AuditEvent.objects.get(seq=report.audit_seq)
    assert event.action == "report.generated"
    assert event.payload["sha256"] == report.sha256
    assert event.incident_id == incident.public_id
    assert AuditCheckpoint.objects.filter(seq__gte=event.seq).exists()


def test_open_incident_report_says_draft_on_every_page(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = incident_declare(title="Vector index unavailable", category="availability", assets=estate,
                                by=commander, commander=commander)  # fmt: skip
    for i in range(120):  # enough timeline for several pages
        audit_append(action="incident.note_added", actor=commander, obj=incident, incident_id=incident.public_id,
                     payload={"body": f"Checked replica {i}."})  # fmt: skip
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    pages = page_texts(report_path(report))
    assert len(pages) > 4
    for number, page in enumerate(pages, start=1):
        assert "DRAFT" in page, f"page {number} has no DRAFT mark"
    assert report.draft and evidence_of(report)["report"]["status"] == "draft"
    assert "Checked replica 119." in "\n".join(pages)


# --- the readiness report ----------------------------------------------------------------


def test_readiness_report_over_a_period_with_activity(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    today = timezone.now().date()
    report = build(
        report_request(
            kind=ReportKind.READINESS, by=compliance, period_first=today - timedelta(days=6), period_last=today
        )
    )
    text = "\n".join(page_texts(report_path(report)))
    for heading in (
        "Executive summary", "Asset inventory and criticality analysis", "Backup coverage",
        "Immutable-backup status", "Restore tests", "DR drills and exercises", "Replication and failover readiness",
        "Contingency-plan testing and revision", "Access review", "Audit controls and log integrity",
        "Incidents in the period", "GDPR accountability linkage", "NPRM gap view", "Findings, risks and CAPA",
        "Attestation and sign-off", "Appendices",
    ):  # fmt: skip
        assert heading in text, heading
    assert "fraud-scoring" in text and "feature-store" in text
    assert f"{incident.reference} " in text  # the incident in the period
    assert "100.0 % (1 of 1)" in text  # backup success rate: one job, succeeded
    # The RPO chart: fraud-scoring's backup is 3 h old against a 15 min RPO; feature-store has none.
    assert re.search(r"3h 0\dm / 15m", text) and "no good backup" in text
    assert "No data for this period" not in text
    evidence = evidence_of(report)
    assert evidence["subject"] == {
        "period_first": str(today - timedelta(days=6)),
        "period_last": str(today),
        "empty": "",
    }
    assert evidence["audit"]["verification"]["ok"] is True


def test_readiness_report_for_an_empty_period_says_so(report_env: Path, compliance: User) -> None:
    report = build(
        report_request(
            kind=ReportKind.READINESS, by=compliance, period_first=date(2020, 1, 1), period_last=date(2020, 1, 31)
        )
    )
    text = " ".join("\n".join(page_texts(report_path(report))).split())
    assert "No data for this period" in text
    assert "No assets in the inventory." in text
    assert evidence_of(report)["subject"]["empty"]


def test_refused_requests_say_why(compliance: User) -> None:
    from incidents.services.reports import ReportRefused

    with pytest.raises(ReportRefused, match="ends before it starts"):
        report_request(kind=ReportKind.READINESS, by=compliance, period_first=date(2026, 2, 1),
                       period_last=date(2026, 1, 1))  # fmt: skip
    with pytest.raises(ReportRefused, match="future"):
        report_request(kind=ReportKind.READINESS, by=compliance, period_first=date(2999, 1, 1),
                       period_last=date(2999, 1, 2))  # fmt: skip
    assert not GeneratedReport.objects.exists()


# --- report_verify ----------------------------------------------------------------------


def test_report_verify_passes_a_generated_report_and_fails_a_tampered_one(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    out = StringIO()
    call_command("report_verify", str(report_path(report)), stdout=out)
    text = out.getvalue()
    for check in ("signature", "evidence.json", "hash in audit log", "anchoring checkpoint", "cited events",
                  "audit log intact"):  # fmt: skip
        assert f"PASS  {check}" in text, text
    assert text.rstrip().endswith("RESULT: VERIFIED")

    data = bytearray(report_path(report).read_bytes())
    data[len(data) // 3] ^= 0x01
    bad = report_env / "tampered.pdf"
    bad.write_bytes(bytes(data))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_verify", str(bad), stdout=out)
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert "FAIL  hash in audit log: no report.generated event records this file's SHA-256" in text
    assert "RESULT: NOT VERIFIED" in text


def foreign_anchor(*, key: Ed25519PrivateKey, origin: str, seq: int, head_hash: str) -> Anchor:
    """A checkpoint as another log would sign it: same text format, whatever key, origin and seq."""
    import base64

    from dr_portal.audit.chain import utc_text
    from dr_portal.audit.checkpoints import checkpoint_body, key_id

    signed_at = timezone.now()
    kid = key_id(key.public_key())
    body = checkpoint_body(origin=origin, seq=seq, head_hash=head_hash, signed_at=signed_at, key=kid)
    signature = base64.b64encode(key.sign(body.encode())).decode()
    return Anchor(origin, seq, head_hash, utc_text(signed_at), kid, signature, f"{body}signature {signature}\n")


@pytest.mark.parametrize("where", ["another DR Portal", "a restored, older database"])
def test_report_verify_fails_a_report_anchored_to_a_checkpoint_this_log_does_not_hold(
    where: str,
    report_env: Path,
    commander: User,
    compliance: User,
    estate: list[Asset],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report is built, signed and recorded here, but its evidence.json names a foreign checkpoint."""
    from dr_portal.audit.checkpoints import key_id, signing_key
    from incidents.reports import document as incident_document

    incident = closed_incident(commander, compliance, estate)
    real_anchor_and_verify = incident_document.anchor_and_verify

    def anchored_elsewhere(*, first_seq: int | None) -> tuple[Anchor | None, Verification | None]:
        anchor, verification = real_anchor_and_verify(first_seq=first_seq)
        assert anchor is not None
        if where == "another DR Portal":  # its own key, its own log
            other = foreign_anchor(key=Ed25519PrivateKey.generate(), origin="dr-portal.elsewhere.example",
                                   seq=anchor.seq, head_hash=anchor.head_hash)  # fmt: skip
        else:  # this portal's key, but a seq this (restored) log never reached
            other = foreign_anchor(key=signing_key(), origin=anchor.origin, seq=anchor.seq + 1000,
                                   head_hash="ab" * 32)  # fmt: skip
        return other, verification

    monkeypatch.setattr(incident_document, "anchor_and_verify", anchored_elsewhere)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    carried = evidence_of(report)["audit"]["anchor"]
    assert not AuditCheckpoint.objects.filter(seq=carried["seq"], signature=carried["signature"]).exists()

    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_verify", str(report_path(report)), stdout=out)
    assert exit_info.value.code == 1
    lines = out.getvalue().splitlines()
    for check in ("signature", "evidence.json", "hash in audit log", "cited events", "audit log intact"):
        assert any(line.startswith(f"PASS  {check}:") for line in lines), (check, lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    if where == "another DR Portal":
        assert failed == [
            "FAIL  anchoring checkpoint: the checkpoint in evidence.json: signature does not verify "
            f"(signed with key {carried['key_id']!r}, not {key_id()!r})"
        ]
    else:
        assert failed == [f"FAIL  anchoring checkpoint: checkpoint seq {carried['seq']} is not in the audit log"]
    assert lines[-1] == "RESULT: NOT VERIFIED"


# --- building: twice, lost, failed --------------------------------------------------------


def test_building_twice_builds_once(report_env: Path, compliance: User) -> None:
    report = report_request(kind=ReportKind.READINESS, by=compliance, period_first=date(2026, 1, 1),
                            period_last=date(2026, 1, 31))  # fmt: skip
    build(report)
    assert report_build(report_id=report.pk).endswith("nothing to do")
    assert AuditEvent.objects.filter(action="report.generated").count() == 1


def test_reconciler_redispatches_lost_builds(report_env: Path, compliance: User, broker_queue: BrokerQueue) -> None:
    report = report_request(kind=ReportKind.READINESS, by=compliance, period_first=date(2026, 1, 1),
                            period_last=date(2026, 1, 31))  # fmt: skip
    broker_queue.clear()  # the request's own message (sent on commit) was lost
    assert reports_reconcile() == []
    assert broker_queue.sent() == []
    later = timezone.now() + timedelta(minutes=5)
    assert reports_reconcile(now=later) == [f"{report.report_id}: re-dispatched"]
    assert broker_queue.sent() == [("incidents.report_build", [report.pk])]


def test_a_failed_build_is_marked_failed_with_the_reason(
    report_env: Path, compliance: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dr_portal.pdf import document

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(document, "document_pdf", broken)
    report = report_request(kind=ReportKind.READINESS, by=compliance, period_first=date(2026, 1, 1),
                            period_last=date(2026, 1, 31))  # fmt: skip
    report_build(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and "renderer exploded" in report.error
    assert AuditEvent.objects.filter(action="report.failed", object_id=str(report.public_id)).exists()


# --- pages, downloads, API, command ----------------------------------------------------------


def test_compliance_officer_starts_lists_and_downloads_reports(
    report_env: Path, commander: User, compliance: User, estate: list[Asset], client_for: Callable[..., Client]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    client = client_for(compliance)
    response = client.post("/reports/new/", {"kind": "incident", "incident": str(incident.public_id)})
    assert response.status_code == 302
    report = GeneratedReport.objects.get()
    page = client.get("/reports/").content.decode()
    assert report.report_id in page and 'hx-trigger="every 2s"' in page  # building: the rows poll
    build(report)
    rows = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in rows and "Download PDF" in rows and report.sha256[:16] in rows
    download = client.get(f"/reports/{report.public_id}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert body == report_path(report).read_bytes()
    event = AuditEvent.objects.get(action="report.downloaded")
    assert event.actor_id == compliance.pk and event.payload["sha256"] == report.sha256


def test_readiness_report_form_rejects_a_backwards_period(compliance: User, client_for: Callable[..., Client]) -> None:
    response = client_for(compliance).post(
        "/reports/new/", {"kind": "readiness", "period_first": "2026-02-01", "period_last": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "The last day comes before the first." in response.content.decode()
    assert not GeneratedReport.objects.exists()


def test_a_report_on_an_unknown_incident_looks_like_one_nobody_may_see(
    compliance: User, commander: User, client_for: Callable[..., Client], estate: list[Asset]
) -> None:
    import uuid

    incident = incident_declare(title="x", category="availability", by=commander, commander=commander)
    report = report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident)
    # Someone who may not read reports gets the same 404 as for a report that does not exist.
    forbidden = client_for(commander).get(f"/reports/{report.public_id}/download/")
    missing = client_for(compliance).get(f"/reports/{uuid.uuid4()}/download/")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    api = client_for(compliance).post("/api/v1/reports/incident/", {"incident": str(uuid.uuid4())},
                                      content_type="application/json")  # fmt: skip
    assert api.status_code == 404
    assert not AuditEvent.objects.filter(action="report.downloaded").exists()


def test_api_generates_lists_and_downloads(
    report_env: Path, compliance: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(compliance)
    created = client.post(
        "/api/v1/reports/readiness/", {"period_first": "2026-01-01", "period_last": "2026-01-31"},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["status"] == "queued" and body["download"] is None
    build(GeneratedReport.objects.get(public_id=body["id"]))
    listed = client.get("/api/v1/reports/").json()
    assert listed["results"][0]["id"] == body["id"] and listed["results"][0]["status"] == "succeeded"
    one = client.get(f"/api/v1/reports/{body['id']}/").json()
    download = client.get(one["download"])
    assert download.status_code == 200
    assert AuditEvent.objects.filter(action="report.downloaded").get().payload["via"] == "api"


def test_compliance_report_command_builds_and_copies(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    out = StringIO()
    target = report_env / "copy.pdf"
    call_command("compliance_report", "incident", incident.reference, "--user", compliance.username,
                 "--output", str(target), stdout=out)  # fmt: skip
    report = GeneratedReport.objects.get()
    assert report.sha256 in out.getvalue()
    assert target.read_bytes() == report_path(report).read_bytes()


def test_compliance_report_command_refuses_people_without_the_right(commander: User) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an active compliance officer or admin"):
        call_command("compliance_report", "readiness", "--from", "2026-01-01", "--to", "2026-01-31",
                     "--user", commander.username)  # fmt: skip


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
