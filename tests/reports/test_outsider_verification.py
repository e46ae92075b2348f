"""Issue #17 item 6, as an auditor does it: the shell commands docs/reports.md gives ("Verifying a report as a
third party") run as written, on a freshly built incident report time-stamped by the local TSA over HTTP,
with nothing but the public files downloaded from the running portal without an account.

The commands are read from the document, so the document cannot drift from what is tested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from dr_portal.accounts.models import User
from dr_portal.pdf.trust import audit_key_fingerprint, certificate_fingerprint
from dr_portal.pdf.tsa import tsa_identity
from incidents.models import ReportKind
from incidents.services.reports import report_path, report_request
from inventory.models import Asset
from tests.reports.compliance_support import build, closed_incident, reading_order
from tests.test_startup import ROOT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("certutil", "pdfsig", "pdfdetach", "openssl", "curl")),
        reason="needs libnss3-tools (certutil), poppler-utils, openssl and curl",
    ),
]

DOC = ROOT / "docs" / "reports.md"
SECTION = "## Verifying a report as a third party"


def doc_blocks() -> list[str]:
    """The `sh` blocks of the auditor's section, in order."""
    text = DOC.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    end = min(end, text.index("\n### ", start))
    return re.findall(r"```sh\n(.*?)```", text[start:end], flags=re.S)


def run(script: str, where: Path, portal: str) -> subprocess.CompletedProcess[str]:
    """One block under bash, stopping at the first failing command, with the virtualenv's python3 (asn1crypto)
    and pyhanko first on PATH and the portal's address in PORTAL."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(where),
        "PORTAL": portal,
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


def block(blocks: list[str], starting: str) -> str:
    return next(b for b in blocks if b.lstrip().startswith(starting))


@pytest.fixture
def timestamped_report(
    report_env: Path, served_tsa: str, settings: Any, commander: User, compliance: User, estate: list[Asset]
) -> Path:
    """An incident report signed PAdES B-T, its time-stamp fetched over HTTP from `manage.py tsa_serve`, which
    the portal is configured to use as an operator configures an external TSA (URL and trust roots)."""
    roots = report_env / "tsa-roots.pem"
    roots.write_bytes(tsa_identity().certificate_pem)
    settings.REPORT_TSA_URL = served_tsa
    settings.REPORT_TSA_TRUST_ROOTS = roots
    incident = closed_incident(commander, compliance, estate)
    report = build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))
    return report_path(report)


def test_an_auditor_verifies_a_report_with_the_documented_commands_and_public_files_only(
    timestamped_report: Path, live_server: Any, tmp_path: Path
) -> None:
    blocks = doc_blocks()
    assert len(blocks) >= 6, "the auditor's section lost its commands"
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    shutil.copy(timestamped_report, auditor / "report.pdf")

    outputs = []
    for script in blocks:
        done = run(script, auditor, live_server.url)
        assert done.returncode == 0, (script, done.stdout, done.stderr)
        outputs.append(done.stdout + done.stderr)
    said = "\n".join(outputs)

    # The downloads are the portal's public material, fetched anonymously.
    assert (auditor / "certificate.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (auditor / "tsa.pem").read_bytes() == tsa_identity().certificate_pem
    # The fingerprints OpenSSL prints are the ones the report prints.
    printed = "".join(reading_order(timestamped_report).split())
    cert_fp, audit_fp = certificate_fingerprint(), audit_key_fingerprint()
    tsa_fp = certificate_fingerprint(tsa_identity().certificate)
    assert f"sha256 Fingerprint={cert_fp}" in said and f"sha256 Fingerprint={tsa_fp}" in said
    assert audit_fp.replace(":", "").lower() in said
    for fingerprint in (cert_fp, tsa_fp, audit_fp):
        assert fingerprint in printed, fingerprint
    # pdfsig, with trust from a fresh NSS database holding only the downloaded certificate.
    assert "- Total document signed" in said and "Not total document signed" not in said
    assert "Signature Validation: Signature is Valid." in said
    assert "Certificate Validation: Certificate is Trusted." in said
    # The RFC 3161 token in pdfsig's dump, checked by OpenSSL against the TSA's certificate.
    assert "TSA: DirName:/CN=DR Portal local time-stamping authority" in said
    assert "Verification: OK" in said
    # pyHanko: intact, trusted, trusted time-stamp, nothing after the signature.
    assert "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED" in said
    assert "The TSA certificate is trusted." in said
    # The anchoring checkpoint in evidence.json, checked with the audit log's public key.
    assert "Signature Verified Successfully" in said
    assert "evidence.json" in said and "gdpr-notification.json" in said
    # The commands the report itself prints under "How to verify this report" are the documented ones.
    documented = " ".join(" ".join(blocks).split())
    how = reading_order(timestamped_report).split("How to verify this report")[-1]
    for command in ("pyhanko sign validate", "certutil -A", "pdfsig -nssdir", "pdfdetach -savefile"):
        printed_line = re.search(re.escape(command) + r".{0,120}?(report\.pdf|certificate\.pem)", how)
        assert printed_line is not None, command
        assert printed_line.group(0) in documented, printed_line.group(0)


def incremental_update(signed: bytes) -> bytes:
    """A well-formed incremental update, as an editor would append: a changed title after the signature."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    info_ref = writer._info
    assert info_ref is not None
    info = info_ref.get_object()
    info["/Title"] = generic.TextStringObject("A title changed after signing")
    writer.mark_update(info_ref)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def flipped(signed: bytes) -> bytes:
    data = bytearray(signed)
    data[len(data) // 3] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (flipped, "the signed bytes were changed"),
        (incremental_update, "the signature does not cover the whole file"),
    ],
)
def test_a_tampered_copy_fails_the_documented_checks_and_report_verify_in_one_line(
    timestamped_report: Path, live_server: Any, tmp_path: Path, tamper: Any, reason: str
) -> None:
    auditor = tmp_path / "auditor"
    auditor.mkdir()
    (auditor / "report.pdf").write_bytes(tamper(timestamped_report.read_bytes()))
    blocks = doc_blocks()
    for script in (block(blocks, "curl"), block(blocks, "mkdir nssdb")):
        run(script, auditor, live_server.url)
    pdfsig = run("pdfsig -nssdir sql:nssdb report.pdf", auditor, live_server.url).stdout
    # What the document tells the auditor to treat as a failure.
    assert "Signature is Valid." not in pdfsig or "Not total document signed" in pdfsig, pdfsig
    pyhanko = run(block(blocks, "pyhanko sign validate").splitlines()[0], auditor, live_server.url)
    assert pyhanko.returncode != 0 or "UNTOUCHED" not in pyhanko.stdout, pyhanko.stdout

    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_verify", str(auditor / "report.pdf"), stdout=out, stderr=err)
    assert exit_info.value.code == 1
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    verdict = out.getvalue().rstrip().splitlines()[-1]
    assert verdict.startswith(f"RESULT: NOT VERIFIED: {reason}"), verdict
    assert len(verdict) < 300
