"""The incident report carries the regulator exports as PDF/A-3 associated files, listed with digests in
evidence.json, and report_verify checks the file, its time-stamp and those attachments."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from dr_portal.accounts.models import User
from dr_portal.pdf import verify_pdf
from dr_portal.pdf.evidence_checks import attached_exports_check
from incidents.compliance.exports import GDPR_FIELDS, HHS_FIELDS, gdpr_export, hhs_csv
from incidents.models import GeneratedReport, ReportKind
from incidents.reports.attached import GDPR_FILE, HHS_FILE
from incidents.services.reports import report_path, report_request
from inventory.models import Asset
from tests.reports.compliance_support import build, closed_incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def incident_report(report_env: Path, commander: User, compliance: User, estate: list[Asset]) -> GeneratedReport:
    incident = closed_incident(commander, compliance, estate)
    return build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident))


def test_the_incident_report_embeds_both_exports_as_associated_files_listed_in_evidence(
    incident_report: GeneratedReport,
) -> None:
    path = report_path(incident_report)
    reader = PdfReader(path)
    files = {name: contents[0] for name, contents in reader.attachments.items()}
    assert set(files) == {"evidence.json", GDPR_FILE, HHS_FILE}
    evidence = json.loads(files["evidence.json"])
    listed = {e["name"]: e for e in evidence["attachments"]}
    assert set(listed) == {GDPR_FILE, HHS_FILE}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest() and entry["size"] == len(files[name])
    assert evidence["signature"]["profile"] == "PAdES B-T"

    # The same facts, at the report's own moment, as the API's export gives.
    incident = incident_report.incident
    assert incident is not None
    gdpr = json.loads(files[GDPR_FILE])
    assert list(gdpr) == [f.name for f in GDPR_FIELDS]
    assert gdpr["generated_at"] == evidence["report"]["generated_at"]
    at = datetime.fromisoformat(evidence["report"]["generated_at"].replace("Z", "+00:00"))
    assert gdpr == gdpr_export(incident, at=at)
    assert gdpr["approximate_number_of_data_subjects"] == 1234
    rows = list(csv.reader(io.StringIO(files[HHS_FILE].decode())))
    assert rows[0] == [f.name for f in HHS_FIELDS] and len(rows) == 2
    assert files[HHS_FILE].decode() == hhs_csv(incident)

    # PDF/A-3: each one is an associated file of the document, saying how it relates and what it is.
    catalog: Any = reader.trailer["/Root"]
    associated = {str(spec.get_object()["/UF"]): spec.get_object() for spec in catalog["/AF"]}
    assert set(associated) == {"evidence.json", GDPR_FILE, HHS_FILE}
    assert associated["evidence.json"]["/AFRelationship"] == "/Data"
    assert associated[GDPR_FILE]["/AFRelationship"] == associated[HHS_FILE]["/AFRelationship"] == "/Supplement"
    subtypes = {name: str(spec["/EF"]["/F"].get_object()["/Subtype"]) for name, spec in associated.items()}
    assert subtypes[GDPR_FILE] == "/application/json" and subtypes[HHS_FILE] == "/text/csv"  # pypdf decodes #2F


def test_the_evidence_list_in_the_pdf_names_the_attachments_with_their_digests(
    incident_report: GeneratedReport,
) -> None:
    from tests.reports.compliance_support import reading_order

    text = reading_order(report_path(incident_report))
    evidence = verify_pdf(report_path(incident_report).read_bytes()).evidence
    # A long name may wrap at its hyphen, which text extraction joins without it.
    flat = text.replace(" ", "").replace("-", "")
    for entry in evidence["attachments"]:
        assert f"{entry['name']}(attached)".replace("-", "") in flat, entry["name"]
        assert entry["sha256"] in text.replace(" ", "")


def test_report_verify_passes_the_time_stamp_and_the_attachments(incident_report: GeneratedReport) -> None:
    out = StringIO()
    call_command("report_verify", str(report_path(incident_report)), stdout=out)
    text = out.getvalue()
    assert "PASS  time-stamp: RFC 3161 token of " in text and "DR Portal local time-stamping authority" in text
    assert f"PASS  attached files: {GDPR_FILE}, {HHS_FILE}: present, SHA-256 as evidence.json records" in text
    assert text.rstrip().endswith("RESULT: VERIFIED")


def test_attachments_that_disagree_with_evidence_fail_with_the_reason(incident_report: GeneratedReport) -> None:
    result = verify_pdf(report_path(incident_report).read_bytes())
    assert attached_exports_check(result).passed is True
    original = dict(result.attachments)

    result.attachments = {**original, GDPR_FILE: original[GDPR_FILE] + b" "}
    assert attached_exports_check(result).detail == f"SHA-256 differs from evidence.json: {GDPR_FILE}"
    result.attachments = {k: v for k, v in original.items() if k != HHS_FILE}
    assert attached_exports_check(result).detail == f"missing: {HHS_FILE}"
    result.attachments = {**original, "notes.txt": b"slipped in"}
    check = attached_exports_check(result)
    assert check.passed is False and check.detail == "attached but not listed in evidence.json: notes.txt"
