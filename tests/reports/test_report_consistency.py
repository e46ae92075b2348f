"""What a report says agrees with itself and with the log: the restore-tested figure with its chart, every
cited seq with the chain, and no server file path anywhere in the PDF or its attachments."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.pdf import verify_pdf
from dr_portal.pdf.citations import CitationError, citation_refs, cited_seqs
from dr_portal.pdf.document import Control, Field, ReportDocument, Section
from incidents.models import GeneratedReport, ReportKind
from incidents.services.reports import report_path, report_request
from inventory.models import Asset
from inventory.services import asset_drill_record
from tests.factories import AssetFactory, RecoveryPlanFactory, RecoveryPolicyFactory
from tests.reports.compliance_support import build, closed_incident, evidence_of

pytestmark = pytest.mark.django_db(transaction=True)


def _fields(evidence: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['key']}.{f['key']}": f for s in evidence["sections"] for f in s["fields"]}


def test_the_restore_tested_figure_counts_what_the_rto_chart_draws(
    report_env: Path, commander: User, compliance: User
) -> None:
    """alpha: a drill recorded, no run; bravo: restored by a run that measured 35 min; charlie: nothing."""
    from incidents.runs.models import RecoveryRun

    policy = RecoveryPolicyFactory.create(name="tier1", rto_minutes=60, rpo_minutes=15, mtd_minutes=240)
    alpha, bravo, _charlie = (AssetFactory.create(name=n, tier=1, policy=policy) for n in ("alpha", "bravo", "charlie"))
    now = timezone.now()
    asset_drill_record(asset=alpha, drilled_at=now - timedelta(hours=2), evidence="tabletop restore", by=commander)
    run = RecoveryRun.objects.create(
        plan=RecoveryPlanFactory.create(), plan_version=1, mode="recovery", status="succeeded", requested_by=commander,
        outage_started_at=now - timedelta(hours=1), service_verified_at=now - timedelta(minutes=25),
        finished_at=now - timedelta(minutes=20), rto_target_seconds=3600, achieved_rto_seconds=35 * 60,
    )  # fmt: skip
    run.assets.set([bravo])
    report = build(
        report_request(
            kind=ReportKind.READINESS,
            by=compliance,
            period_first=now.date() - timedelta(days=1),
            period_last=now.date(),
        )
    )
    fields = _fields(evidence_of(report))
    assert fields["summary.critical_tested"]["value"] == "66.7 % (2 of 3)"
    assert fields["restore_tests.coverage"]["value"] == "66.7 % (2 of 3)"
    assert fields["restore_tests.untested_assets"]["value"] == "charlie"
    how = fields["restore_tests.tested_assets"]["value"]
    assert f"bravo: run {run.reference} (succeeded)" in how and "alpha: drill recorded, seq " in how
    # The chart draws the same three: one measured, one tested without a measured RTO, one untested.
    text = subprocess.run(["pdftotext", str(report_path(report)), "-"], capture_output=True, text=True).stdout
    lines = [line for line in text.splitlines() if line.strip()]
    assert [line for line in lines if line.endswith(" (untested)")] == ["charlie (untested)"]
    # Between the chart's title and its caption: each bar's label with its figure, or "not measured"
    # written where the bar would start (pdftotext's order within the chart follows the drawing).
    top = lines.index("RTO achieved in restore tests vs target (tier 0-1)")
    end = next(i for i in range(top, len(lines)) if lines[i].startswith("RTO measured by"))
    chart = sorted(line for line in lines[top + 1 : end] if line != "target")
    assert chart == sorted(["alpha — not measured", "bravo", "35m / 1h 00m", "charlie (untested)", "— not measured"])
    assert fields["restore_tests.oldest_untested"]["value"].startswith("charlie ")


def test_every_seq_a_report_cites_is_an_event_in_the_chain(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    asset_drill_record(asset=estate[0], drilled_at=timezone.now(), evidence="restore verified", by=commander)
    today = timezone.now().date()
    reports = [
        build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident)),
        build(report_request(kind=ReportKind.READINESS, by=compliance, period_first=today, period_last=today)),
    ]
    for report in reports:
        evidence = evidence_of(report)
        printed = {f["seq"] for s in evidence["sections"] for f in s["fields"] if f["seq"] is not None}
        in_text = {
            int(n)
            for s in evidence["sections"]
            for value in [*(f["value"] for f in s["fields"]), *(c for t in s["tables"] for r in t["rows"] for c in r)]
            if isinstance(value, str)
            for n in re.findall(r"\bseq (\d+)\b", value)
        }
        listed = {e["seq"]: e["hash"] for e in evidence["audit"]["events"] + evidence["audit"]["citations"]}
        anchor = evidence["audit"]["anchor"]
        listed.setdefault(anchor["seq"], anchor["head_hash"])  # the anchor's own seq: checked as the anchor
        assert printed | in_text <= set(listed), report.kind
        assert printed | in_text, report.kind  # the check is not vacuous
        chain = dict(AuditEvent.objects.filter(seq__in=listed).values_list("seq", "hash"))
        assert chain == listed and max(listed) <= evidence["audit"]["anchor"]["seq"]


def test_a_report_citing_a_seq_the_chain_lacks_is_refused(db: None) -> None:
    newest = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    control = Control(
        report_id="RPT-X", kind="incident", title="t", subtitle="s", version=1, status="draft",
        generated_at=timezone.now(), generated_by="x", generated_by_id=None, classification="c", distribution="d",
        retention_until="2033-01-01", legal_hold=None,
    )  # fmt: skip
    section = Section("s", "S", fields=[Field("f", "F", "late", seq=newest + 5), Field("g", "G", f"seq {newest + 9}")])
    doc = ReportDocument(control=control, sections=[section])
    assert cited_seqs(doc) == {newest + 5, newest + 9}
    with pytest.raises(CitationError, match=f"cites audit seq {newest + 5}, {newest + 9}, which the log does not hold"):
        citation_refs(doc)


_SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:tmp|srv|var|home|root|work|etc|opt|usr|data|mnt)/[\w.-]+")


def test_no_server_path_appears_in_the_pdf_text_evidence_or_attachments(
    report_env: Path, commander: User, compliance: User, estate: list[Asset]
) -> None:
    incident = closed_incident(commander, compliance, estate)
    asset_drill_record(asset=estate[0], drilled_at=timezone.now(), evidence="restore verified", by=commander)
    today = timezone.now().date()
    reports: list[GeneratedReport] = [
        build(report_request(kind=ReportKind.INCIDENT, by=compliance, incident=incident)),
        build(report_request(kind=ReportKind.READINESS, by=compliance, period_first=today, period_last=today)),
    ]
    secrets = {str(settings.VAR_DIR), str(settings.REPORTS_DIR), str(report_env), str(settings.BASE_DIR)}
    secrets |= {a.source_uri for a in estate} | {str(a.vault.config.get("path")) for a in estate if a.vault}
    for report in reports:
        path = report_path(report)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        result = verify_pdf(path.read_bytes())
        corpus = {"pdf text": text, **{name: data.decode() for name, data in result.attachments.items()}}
        corpus["evidence.json (parsed)"] = json.dumps(result.evidence, ensure_ascii=False)
        for where, content in corpus.items():
            for secret in secrets:
                assert secret not in content, (report.kind, where, secret)
            assert not _SERVER_PATH.findall(content), (report.kind, where, _SERVER_PATH.findall(content)[:5])
