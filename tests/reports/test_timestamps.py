"""RFC 3161 signature time-stamps (PAdES B-T) from the portal's own TSA, checked the way an outsider would."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos, cms, tsp
from django.test import Client

from dr_portal.pdf import sign_pdf, verify_pdf
from dr_portal.pdf.evidence_checks import timestamp_check
from dr_portal.pdf.timestamping import TimestampUnavailable
from dr_portal.pdf.tsa import TSA_POLICY, TimeStampReply, tsa_identity, tsa_respond
from tests.reports.conftest import Sample, free_port, tiny_pdf
from tests.test_startup import manage

# --- the responder ------------------------------------------------------------------------


def _request(
    digest: bytes = b"\x11" * 32, algorithm: str = "sha256", nonce: int | None = 42, cert_req: bool = True, **extra: Any
) -> bytes:
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm}),
            "hashed_message": digest,
        },
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()


def _status(reply: bytes) -> tuple[str, set[str], str]:
    status = TimeStampReply.load(reply)["status"]
    fail = status["fail_info"].native
    return status["status"].native, set(fail or ()), " ".join(status["status_string"].native or [])


def test_the_local_tsa_grants_a_token_over_the_imprint_with_nonce_and_certificate(embedded_signing: Path) -> None:
    reply = tsp.TimeStampResp.load(tsa_respond(_request(b"\x22" * 32, nonce=7)))
    assert reply["status"]["status"].native == "granted"
    signed = reply["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == b"\x22" * 32
    assert info["nonce"].native == 7 and info["policy"].native == TSA_POLICY
    assert abs(info["gen_time"].native - datetime.now(UTC)) < timedelta(seconds=5)
    assert [c.chosen.sha256 for c in signed["certificates"]] == [tsa_identity().asn1_certificate.sha256]
    without = tsp.TimeStampResp.load(tsa_respond(_request(cert_req=False)))["time_stamp_token"]["content"]
    assert not without["certificates"].native  # certReq false: the certificate is left out (RFC 3161 §2.4.1)


def test_two_tokens_never_share_a_serial_number(embedded_signing: Path) -> None:
    serials = {
        tsp.TimeStampResp.load(tsa_respond(_request()))["time_stamp_token"]["content"]["encap_content_info"]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(20)
    }
    assert len(serials) == 20


@pytest.mark.parametrize(
    ("request_der", "failure", "says"),
    [
        (b"this is not DER", "bad_data_format", "not a DER TimeStampReq"),
        (_request(b"\x00" * 20, algorithm="sha1"), "bad_alg", "sha1 is not accepted"),
        (_request(b"\x00" * 16, algorithm="md5"), "bad_alg", "md5 is not accepted"),
        (_request(b"\x00" * 31), "bad_data_format", "wrong length"),
        (_request(req_policy="1.2.3.4"), "unaccepted_policy", "1.2.3.4"),
        (_request() + b"\x00", "bad_data_format", "trailing"),
    ],
    ids=["garbage", "sha1", "md5", "short-imprint", "other-policy", "trailing-byte"],
)
def test_the_local_tsa_refuses_a_bad_request_the_rfc_3161_way(
    embedded_signing: Path, request_der: bytes, failure: str, says: str
) -> None:
    status, failures, text = _status(tsa_respond(request_der))
    assert (status, failures) == ("rejection", {failure})
    assert says in text


# --- report signatures --------------------------------------------------------------------


def test_a_signed_report_carries_a_trusted_time_stamp_from_the_local_tsa(
    final_report: Sample, embedded_signing: Path
) -> None:
    result = verify_pdf(final_report.signed)
    assert result.ok, result.problems
    assert result.timestamp is not None and result.signed_at is not None
    assert timedelta(0) <= result.timestamp - result.signed_at.replace(microsecond=0) < timedelta(minutes=1)
    assert "DR Portal local time-stamping authority" in result.timestamp_authority
    assert result.timestamp_authority_sha256 == tsa_identity().asn1_certificate.sha256.hex()


def test_time_stamping_can_be_turned_off(embedded_signing: Path, settings: Any) -> None:
    settings.REPORT_TSA_URL = "off"
    result = verify_pdf(sign_pdf(tiny_pdf()), require_evidence=False)
    assert result.ok and result.timestamp is None


def _contents(data: bytes) -> tuple[int, int, cms.ContentInfo]:
    found = re.search(rb"/Contents <([0-9A-Fa-f]+)>", data)
    assert found
    return found.start(1), found.end(1), cms.ContentInfo.load(bytes.fromhex(found.group(1).decode()), strict=False)


def _with_unsigned_attrs(data: bytes, attrs: list[cms.CMSAttribute] | None) -> bytes:
    """The same file with the signature's unsigned attributes replaced: outside the signed bytes, in place."""
    start, end, info = _contents(data)
    signer = info["content"]["signer_infos"][0]
    signer["unsigned_attrs"] = cms.CMSAttributes(attrs) if attrs else None
    # Only the changed parts are re-encoded: force=True re-encodes every byte and takes a minute.
    blob = info.dump().hex().upper().encode()
    assert len(blob) <= end - start
    return data[:start] + blob.ljust(end - start, b"0") + data[end:]


def test_a_token_over_other_bytes_or_from_an_untrusted_tsa_is_refused(
    final_report: Sample, embedded_signing: Path
) -> None:
    other = tsp.TimeStampResp.load(tsa_respond(_request(hashlib.sha256(b"something else").digest())))
    swapped = _with_unsigned_attrs(
        final_report.signed,
        [cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [other["time_stamp_token"]]})],
    )
    assert "the time-stamp token does not cover this signature" in " ".join(verify_pdf(swapped).problems)
    from tests.reports.test_signing import make_identity

    _, stranger = make_identity("Another TSA")
    problems = verify_pdf(final_report.signed, tsa_trust=[stranger]).problems
    assert problems == [
        "the time-stamping authority (Organization: DR Portal, Common Name: DR Portal local time-stamping authority) "
        "does not chain to a trusted certificate"
    ]


def test_a_removed_time_stamp_is_caught_when_evidence_says_there_was_one(
    final_report: Sample, embedded_signing: Path
) -> None:
    stripped = _with_unsigned_attrs(final_report.signed, None)
    result = verify_pdf(stripped)
    assert result.ok and result.timestamp is None  # the signature alone is still intact: B-B
    assert timestamp_check(result).passed is None  # the sample's evidence promises nothing
    result.evidence = {"signature": {"profile": "PAdES B-T"}}
    check = timestamp_check(result)
    assert check.passed is False and "carries no token: removed" in check.detail


# --- what an outsider runs, with only the public certificates -------------------------------


@pytest.fixture
def public_certificates(embedded_signing: Path, tmp_path: Path) -> tuple[Path, Path]:
    anonymous = Client()
    paths = []
    for url, name in (("/reports/certificate.pem", "certificate.pem"), ("/reports/tsa-certificate.pem", "tsa.pem")):
        response = anonymous.get(url)
        assert response.status_code == 200, url
        (tmp_path / name).write_bytes(response.content)
        paths.append(tmp_path / name)
    return paths[0], paths[1]


@pytest.mark.django_db
def test_pyhanko_reports_the_time_stamp_and_a_valid_signature(
    final_report: Sample, public_certificates: tuple[Path, Path]
) -> None:
    cert, tsa = public_certificates
    cli = [str(Path(sys.executable).with_name("pyhanko")), "sign", "validate", "--trust-replace", "--trust", str(cert)]
    both = subprocess.run([*cli, "--trust", str(tsa), str(final_report.path)], capture_output=True, text=True)
    assert both.returncode == 0, both.stderr
    assert "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED" in both.stdout
    pretty = subprocess.run(
        [*cli, "--trust", str(tsa), "--pretty-print", str(final_report.path)], capture_output=True, text=True
    )
    assert "Signature timestamp token: " in pretty.stdout
    assert "The TSA certificate is trusted." in pretty.stdout
    assert "The signature covers the entire file." in pretty.stdout
    # Without the TSA's certificate, pyHanko will not vouch for the time.
    alone = subprocess.run([*cli, str(final_report.path)], capture_output=True, text=True)
    assert alone.returncode != 0 and "TIMESTAMP_TOKEN<INTACT:UNTRUSTED>" in alone.stdout


@pytest.mark.django_db
def test_pdfsig_validates_the_signature_and_openssl_the_time_stamp_it_dumps(
    final_report: Sample, public_certificates: tuple[Path, Path], tmp_path: Path
) -> None:
    """poppler's pdfsig checks the signature but does not print RFC 3161 tokens; its dump of the CMS
    signature carries the token, which `openssl ts` reads and verifies against the TSA certificate."""
    _, tsa = public_certificates
    report = tmp_path / "report.pdf"
    report.write_bytes(final_report.signed)
    checked = subprocess.run(["pdfsig", "-nocert", str(report)], capture_output=True, text=True, cwd=tmp_path)
    assert "Signature Validation: Signature is Valid." in checked.stdout
    assert "Total document signed" in checked.stdout and "not total" not in checked.stdout.lower()
    subprocess.run(["pdfsig", "-nocert", "-dump", str(report)], capture_output=True, check=True, cwd=tmp_path)
    signer = cms.ContentInfo.load((tmp_path / "report.pdf.sig0").read_bytes())["content"]["signer_infos"][0]
    tokens = [a for a in signer["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"]
    assert len(tokens) == 1
    (tmp_path / "token.der").write_bytes(tokens[0]["values"][0].dump())
    read = ["openssl", "ts", "-reply", "-token_in", "-in", "token.der", "-text"]
    text = subprocess.run(read, capture_output=True, text=True, cwd=tmp_path).stdout
    assert "TSA: DirName:/CN=DR Portal local time-stamping authority" in text
    imprint = hashlib.sha256(signer["signature"].native).hexdigest()
    verify = ["openssl", "ts", "-verify", "-token_in", "-in", "token.der", "-CAfile", str(tsa), "-digest"]
    good = subprocess.run([*verify, imprint], capture_output=True, text=True, cwd=tmp_path)
    assert "Verification: OK" in good.stdout, good.stderr
    bad = subprocess.run([*verify, hashlib.sha256(b"other").hexdigest()], capture_output=True, text=True, cwd=tmp_path)
    assert "Verification: OK" not in bad.stdout


# --- the TSA over HTTP, as an external one is reached ---------------------------------------


def test_signatures_are_time_stamped_by_a_tsa_reached_over_http(served_tsa: str, settings: Any) -> None:
    settings.REPORT_TSA_URL = served_tsa
    result = verify_pdf(sign_pdf(tiny_pdf()), require_evidence=False)
    assert result.ok, result.problems
    assert result.timestamp is not None and "local time-stamping authority" in result.timestamp_authority


def test_the_served_tsa_refuses_what_is_not_a_time_stamp_query(served_tsa: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    port = urlsplit(served_tsa).port
    assert port

    def status(method: str, body: bytes | None, content_type: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, "/", body=body, headers={"Content-Type": content_type})
            return connection.getresponse().status
        finally:
            connection.close()

    assert status("GET", None, "text/plain") == 405
    assert status("POST", b"{}", "application/json") == 415
    assert status("POST", b"x" * 20000, "application/timestamp-query") == 413


def test_a_tsa_that_does_not_answer_fails_the_signature_with_the_reason(embedded_signing: Path, settings: Any) -> None:
    settings.REPORT_TSA_URL = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(TimestampUnavailable, match=r"the time-stamping authority at 127\.0\.0\.1 did not answer"):
        sign_pdf(tiny_pdf())


def test_a_tsa_url_that_is_not_http_stops_start_up() -> None:
    result = manage("check", DEBUG="true", REPORT_TSA_URL="ftp://tsa.example/")
    assert result.returncode == 2
    assert "REPORT_TSA_URL: 'ftp://tsa.example/' is not local, off or an http(s) URL" in result.stderr
