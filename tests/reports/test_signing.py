"""Signing and verification: a signed report verifies, and no change to it goes unnoticed."""

from __future__ import annotations

import hashlib
import logging
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.pdf import public_certificate_pem, sign_pdf, signing_identity, verify_pdf
from dr_portal.pdf.signing import EMBEDDED_KEY_FILE
from dr_portal.pdf.tsa import tsa_identity
from tests.reports.conftest import Sample, tiny_pdf
from tests.test_startup import manage


def make_identity(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


# --- a good report --------------------------------------------------------------------------


def test_a_signed_report_verifies_and_yields_its_evidence(final_report: Sample, embedded_signing: Path) -> None:
    result = verify_pdf(final_report.signed)
    assert result.ok, result.problems
    assert result.coverage == "ENTIRE_FILE"
    assert result.pdfa == "3B"
    assert result.evidence == final_report.evidence
    assert result.sha256 == hashlib.sha256(final_report.signed).hexdigest()
    assert "DR Portal report signing" in result.signer
    assert result.signer_sha256 == fingerprint(signing_identity().certificate)


def test_an_unsigned_report_does_not_verify(final_report: Sample, embedded_signing: Path) -> None:
    result = verify_pdf(final_report.unsigned)
    assert not result.ok
    assert result.problems == ["the file carries no signature"]


def test_a_report_without_evidence_fails_unless_told_otherwise(embedded_signing: Path) -> None:
    signed = sign_pdf(tiny_pdf())
    assert verify_pdf(signed).problems == ["evidence.json is not attached"]
    assert verify_pdf(signed, require_evidence=False).ok


# --- tampering ------------------------------------------------------------------------------


def _positions(data: bytes) -> list[int]:
    """Every kind of place: header, page content, attachment, signature value and padding, trailer, end."""
    contents = re.search(rb"/Contents <([0-9A-F]+)>", data)
    assert contents
    start, end = contents.span(1)
    stream = data.index(b"stream", 200)
    rng = random.Random(20260304)  # fixed, so a failure can be reproduced
    spots = [0, 7, stream + 20, len(data) // 3, len(data) // 2, start + 1, start + 200, (start + end) // 2, end - 1]
    spots += [len(data) - 30, len(data) - 8, len(data) - 1]
    spots += [rng.randrange(len(data)) for _ in range(25)]
    return spots


def test_one_byte_changed_anywhere_fails(final_report: Sample, embedded_signing: Path) -> None:
    for position in _positions(final_report.signed):
        changed = bytearray(final_report.signed)
        changed[position] ^= 0x01
        result = verify_pdf(bytes(changed))
        assert not result.ok, f"a change at byte {position} of {len(changed)} went unnoticed"
        assert result.problems and all(isinstance(p, str) and p for p in result.problems)


def test_a_change_in_the_signature_padding_is_caught(final_report: Sample, embedded_signing: Path) -> None:
    data = final_report.signed
    gap = re.search(rb"/Contents <([0-9A-F]+)>", data)
    assert gap
    last = gap.end(1) - 1  # the padding zeros sit at the end of the hex string
    changed = data[:last] + b"1" + data[last + 1 :]
    assert verify_pdf(changed).problems == [
        "the signature value was altered after the signature's end (non-zero padding)"
    ]


def test_a_hex_digit_switched_to_lower_case_is_caught(final_report: Sample, embedded_signing: Path) -> None:
    data = final_report.signed
    gap = re.search(rb"/Contents <[0-9]*([A-F])", data)
    assert gap
    i = gap.start(1)
    changed = data[:i] + data[i : i + 1].lower() + data[i + 1 :]
    assert "encoding was altered" in " ".join(verify_pdf(changed).problems)


def test_an_incremental_update_after_signing_fails(final_report: Sample, embedded_signing: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(final_report.signed))
    writer.root["/Lang"] = generic.TextStringObject("fr")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    result = verify_pdf(out.getvalue())
    assert not result.ok
    assert any("incremental update" in p for p in result.problems), result.problems


def test_bytes_appended_after_signing_fail(final_report: Sample, embedded_signing: Path) -> None:
    result = verify_pdf(final_report.signed + b"\n%% a comment\n")
    assert any("does not cover the whole file" in p for p in result.problems)


def test_garbage_is_reported_not_raised(embedded_signing: Path) -> None:
    result = verify_pdf(b"this is not a pdf")
    assert not result.ok
    assert "cannot be read as a PDF" in result.problems[0]


def test_a_signer_we_do_not_trust_fails(final_report: Sample, embedded_signing: Path) -> None:
    _, stranger = make_identity("Someone else")
    result = verify_pdf(final_report.signed, trust=[stranger])
    assert any("does not chain to a trusted certificate" in p for p in result.problems)


# --- where the identity comes from ----------------------------------------------------------


@pytest.fixture
def configured(settings: Any, tmp_path: Path) -> Iterator[Callable[..., x509.Certificate]]:
    """Point the settings at a key/certificate written to tmp_path, as an operator would."""

    def configure(kind: str, passphrase: bytes | None = None, via_file: bool = False) -> x509.Certificate:
        key, cert = make_identity(f"Configured {kind}")
        encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        settings.VAR_DIR = tmp_path / "var"
        settings.REPORT_SIGNING_PKCS12 = settings.REPORT_SIGNING_KEY = settings.REPORT_SIGNING_CERT = None
        settings.REPORT_SIGNING_PASSPHRASE = settings.REPORT_SIGNING_PASSPHRASE_FILE = None
        settings.REPORT_TRUST_ROOTS = None
        if kind == "pkcs12":
            bundle = tmp_path / "signing.p12"
            bundle.write_bytes(pkcs12.serialize_key_and_certificates(b"drp", key, cert, None, encryption))
            settings.REPORT_SIGNING_PKCS12 = bundle
        else:
            (tmp_path / "key.pem").write_bytes(
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
            )
            (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            settings.REPORT_SIGNING_KEY = tmp_path / "key.pem"
            settings.REPORT_SIGNING_CERT = tmp_path / "cert.pem"
        if passphrase and via_file:
            (tmp_path / "passphrase").write_bytes(passphrase + b"\n")
            settings.REPORT_SIGNING_PASSPHRASE_FILE = tmp_path / "passphrase"
        elif passphrase:
            settings.REPORT_SIGNING_PASSPHRASE = passphrase.decode()
        signing_identity.cache_clear()
        return cert

    yield configure
    signing_identity.cache_clear()


@pytest.mark.parametrize(
    ("kind", "passphrase", "via_file"),
    [("pem", None, False), ("pem", b"correct horse", True), ("pkcs12", b"battery staple", False)],
)
def test_a_certificate_from_configuration_is_used(
    configured: Callable[..., x509.Certificate], kind: str, passphrase: bytes | None, via_file: bool
) -> None:
    cert = configured(kind, passphrase, via_file)
    result = verify_pdf(sign_pdf(tiny_pdf()), require_evidence=False)
    assert result.ok, result.problems
    assert result.signer_sha256 == fingerprint(cert)
    assert public_certificate_pem() == cert.public_bytes(serialization.Encoding.PEM)
    assert signing_identity().source == kind


def test_a_wrong_passphrase_names_the_variable(configured: Callable[..., x509.Certificate], settings: Any) -> None:
    configured("pkcs12", b"right")
    settings.REPORT_SIGNING_PASSPHRASE = "wrong"
    signing_identity.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="REPORT_SIGNING_PKCS12: cannot open the bundle"):
        signing_identity()


def test_a_missing_key_file_names_the_variable(configured: Callable[..., x509.Certificate], settings: Any) -> None:
    configured("pem")
    settings.REPORT_SIGNING_KEY = settings.REPORT_SIGNING_KEY.with_name("gone.pem")
    signing_identity.cache_clear()
    with pytest.raises(ImproperlyConfigured, match=r"REPORT_SIGNING_KEY: cannot read gone\.pem"):
        signing_identity()


def test_reports_signed_by_the_embedded_key_fail_against_a_configured_trust_bundle(
    final_report: Sample, configured: Callable[..., x509.Certificate], settings: Any, tmp_path: Path
) -> None:
    cert = configured("pem")
    (tmp_path / "trust.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    settings.REPORT_TRUST_ROOTS = tmp_path / "trust.pem"
    assert any("trusted certificate" in p for p in verify_pdf(final_report.signed).problems)


def test_embedded_mode_generates_one_self_signed_certificate_and_warns(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REPORT_SIGNING_PKCS12 = settings.REPORT_SIGNING_KEY = settings.REPORT_SIGNING_CERT = None
    signing_identity.cache_clear()
    with caplog.at_level(logging.WARNING, logger="dr_portal.pdf.signing"):
        first = signing_identity()
    assert "self-signed report-signing certificate" in caplog.text
    key_file = tmp_path / "keys" / EMBEDDED_KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0, "the private key must not be readable by others"
    caplog.clear()
    signing_identity.cache_clear()
    again = signing_identity()
    assert fingerprint(again.certificate) == fingerprint(first.certificate)
    assert caplog.text == ""
    assert again.source == "embedded"
    signing_identity.cache_clear()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REPORT_SIGNING_PKCS12": "a.p12", "REPORT_SIGNING_KEY": "k.pem"}, "REPORT_SIGNING_PKCS12: set it or"),
        ({"REPORT_SIGNING_KEY": "k.pem"}, "REPORT_SIGNING_KEY: needs REPORT_SIGNING_CERT"),
    ],
)
def test_contradictory_signing_settings_stop_start_up(env: dict[str, str], says: str) -> None:
    result = manage("check", DEBUG="true", **env)
    assert result.returncode == 2
    assert says in result.stderr


# --- what a third party and an operator do ----------------------------------------------------


def test_pyhanko_cli_verifies_with_only_the_public_certificate(
    final_report: Sample, embedded_signing: Path, tmp_path: Path
) -> None:
    cert = tmp_path / "certificate.pem"
    cert.write_bytes(public_certificate_pem())
    tsa = tmp_path / "tsa.pem"
    tsa.write_bytes(tsa_identity().certificate_pem)
    cli = Path(sys.executable).with_name("pyhanko")
    command = [str(cli), "sign", "validate", "--trust-replace", "--trust", str(cert), "--trust", str(tsa)]
    good = subprocess.run([*command, str(final_report.path)], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED" in good.stdout
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(final_report.signed)
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = subprocess.run([*command, str(tampered)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0


@pytest.mark.django_db
def test_report_verify_checks_the_signature_and_then_the_audit_log(
    final_report: Sample, embedded_signing: Path
) -> None:
    """The sample is well signed but was never generated by the report service, so no event records it."""
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_verify", str(final_report.path), stdout=out)
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert hashlib.sha256(final_report.signed).hexdigest() in text
    assert "PASS  signature" in text and "PASS  evidence.json" in text
    assert "FAIL  hash in audit log: no report.generated event records this file's SHA-256" in text
    assert "FAIL  anchoring checkpoint: evidence.json names no checkpoint" in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .startswith("RESULT: NOT VERIFIED: hash in audit log: no report.generated event records this file's SHA-256")
    )


@pytest.mark.django_db
def test_report_verify_fails_a_tampered_report_with_the_reason(
    final_report: Sample, embedded_signing: Path, tmp_path: Path
) -> None:
    data = bytearray(final_report.signed)
    data[len(data) // 2] ^= 0x01
    (tmp_path / "bad.pdf").write_bytes(bytes(data))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_verify", str(tmp_path / "bad.pdf"), stdout=out)
    assert exit_info.value.code == 1
    assert "FAIL  signature" in out.getvalue()
    assert "the signed bytes were changed" in out.getvalue()
    assert out.getvalue().rstrip().splitlines()[-1].startswith("RESULT: NOT VERIFIED: the signed bytes were changed")


def test_anyone_signed_in_can_download_the_certificate(
    viewer: User, client_for: Callable[..., Client], embedded_signing: Path
) -> None:
    response = client_for(viewer).get("/reports/certificate.pem")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert response.content == public_certificate_pem()
    assert x509.load_pem_x509_certificate(response.content) == signing_identity().certificate


def test_signing_and_verifying_work_inside_a_running_event_loop(embedded_signing: Path) -> None:
    """pyHanko's sync API calls asyncio.run(); an ASGI view runs inside a loop already."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def inside() -> bool:
        return verify_pdf(sign_pdf(tiny_pdf()), require_evidence=False).ok

    # a thread of its own, in case an earlier test left a loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside()).result()
