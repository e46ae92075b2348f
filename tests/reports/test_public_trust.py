"""Item 6: what an outsider needs to trust a report — public downloads with fingerprints printed in the report,
and a verifier that answers every tampered copy with a reason, never a traceback."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dr_portal.audit.checkpoints import load_public_key_pem
from dr_portal.pdf.document import Control, ReportDocument, integrity_fields
from dr_portal.pdf.trust import colon_hex
from tests.reports.conftest import Sample

pytestmark = pytest.mark.django_db


def test_the_certificate_and_audit_key_download_without_signing_in_and_match_the_printed_fingerprints(
    embedded_signing: Path,
) -> None:
    anonymous = Client()
    cert_response = anonymous.get("/reports/certificate.pem")
    key_response = anonymous.get("/reports/audit-key.pem")
    assert cert_response.status_code == key_response.status_code == 200
    cert = x509.load_pem_x509_certificates(cert_response.content)[0]
    cert_fp = colon_hex(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())
    key = load_public_key_pem(key_response.content)
    key_der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_fp = colon_hex(hashlib.sha256(key_der).digest())
    assert cert_response["X-SHA256-Fingerprint"] == cert_fp and key_response["X-SHA256-Fingerprint"] == key_fp

    control = Control(
        report_id="RPT-X", kind="incident", title="t", subtitle="s", version=1, status="draft",
        generated_at=timezone.now(), generated_by="x", generated_by_id=None, classification="c", distribution="d",
        retention_until="2033-01-01", legal_hold=None,
    )  # fmt: skip
    doc = ReportDocument(control=control, sections=[])
    printed = {f.key: f.value for f in integrity_fields(doc)}
    assert printed["signing_certificate_sha256"] == cert_fp
    assert printed["audit_key_sha256"] == key_fp


def _tampered(signed: bytes) -> dict[str, bytes]:
    variants = {f"flip@{k}/16": _flip(signed, len(signed) * k // 16) for k in range(16)}
    variants.update(
        {
            "empty": b"",
            "not a pdf": b"hello, this is not a PDF at all",
            "truncated to half": signed[: len(signed) // 2],
            "last 100 bytes cut": signed[:-100],
            "header damaged": b"%PDX" + signed[4:],
            "incremental update appended": signed + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
            "trailing garbage": signed + b"\x00" * 512,
        }
    )
    return variants


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[min(at, len(out) - 1)] ^= 0x20
    return bytes(out)


def test_report_verify_answers_every_tampered_copy_with_a_reason_and_no_traceback(
    final_report: Sample, embedded_signing: Path, tmp_path: Path
) -> None:
    for name, data in _tampered(final_report.signed).items():
        path = tmp_path / "copy.pdf"
        path.write_bytes(data)
        out = StringIO()
        with pytest.raises(SystemExit) as exit_info:
            call_command("report_verify", str(path), stdout=out)
        text = out.getvalue()
        assert exit_info.value.code == 1, name
        verdict = text.rstrip().splitlines()[-1]
        assert verdict.startswith("RESULT: NOT VERIFIED: ") and len(verdict) > 30, (name, verdict)
        assert "Traceback" not in text, name
        reasons = [line for line in text.splitlines() if line.startswith("FAIL")]
        assert reasons and all(len(line) < 400 for line in reasons), (name, text)


def test_with_an_external_tsa_its_configured_certificate_is_published_and_printed(
    embedded_signing: Path, tmp_path: Path, settings: Any
) -> None:
    from datetime import timedelta

    from cryptography.hazmat.primitives.asymmetric import ec

    from dr_portal.pdf.selfsigned import self_signed_publish
    from dr_portal.pdf.timestamping import tsa_fields
    from dr_portal.pdf.tsa import tsa_identity

    made = tmp_path / "made.pem"
    self_signed_publish(
        made, key=ec.generate_private_key(ec.SECP256R1()), common_name="Other TSA", organisation="Elsewhere",
        validity=timedelta(days=30),
    )  # fmt: skip
    other = tmp_path / "other-tsa.pem"
    other.write_bytes(x509.load_pem_x509_certificate(made.read_bytes()).public_bytes(serialization.Encoding.PEM))
    settings.REPORT_TSA_URL = "https://tsa.example/stamp"
    settings.REPORT_TSA_TRUST_ROOTS = other
    response = Client().get("/reports/tsa-certificate.pem")
    assert response.status_code == 200 and response.content == other.read_bytes()
    external = x509.load_pem_x509_certificate(other.read_bytes())
    fingerprint = colon_hex(hashlib.sha256(external.public_bytes(serialization.Encoding.DER)).digest())
    assert response["X-SHA256-Fingerprint"] == fingerprint
    assert (
        tsa_fields()[0].value
        == fingerprint
        != colon_hex(hashlib.sha256(tsa_identity().certificate.public_bytes(serialization.Encoding.DER)).digest())
    )
    # An external TSA whose certificate the operator did not give: nothing to publish, said plainly.
    settings.REPORT_TSA_TRUST_ROOTS = None
    missing = Client().get("/reports/tsa-certificate.pem")
    assert missing.status_code == 404 and tsa_fields()[0].value is None
