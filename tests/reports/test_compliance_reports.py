"""The incident and readiness reports, read back from the signed PDFs: text, evidence, signature, audit log."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditCheckpoint, AuditEvent
from dr_portal.audit.services import audit_append
from dr_portal.pdf.document import Anchor, Verification
from incidents.models import GeneratedReport, ReportKind
from incidents.services import (
    incident_declare,
)
from incidents.services.reports import report_path, report_request
from inventory.models import Asset
from tests.reports.compliance_support import build, closed_incident, evidence_of, reading_order
from tests.reports.conftest import page_texts

pytestmark = pytest.mark.django_db(transaction=True)


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
    assert lines[-1] == "RESULT: NOT VERIFIED: " + failed[0].removeprefix("FAIL  ")
