"""A readiness report built by a real Celery worker process, watched through the Reports page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.models import GeneratedReport, ReportStatus
from incidents.services.reports import report_path
from tests.factories import AssetFactory
from tests.workers import running_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_real_worker_builds_a_report_the_page_shows_and_report_verify_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compliance: User, client_for: Callable[..., Client]
) -> None:
    reports, checkpoints = tmp_path / "reports", tmp_path / "checkpoints"
    monkeypatch.setattr(settings, "REPORTS_DIR", reports)
    monkeypatch.setattr(settings, "AUDIT_CHECKPOINT_DIR", checkpoints)
    AssetFactory.create(name="worker-scored-model")
    client = client_for(compliance)
    with running_worker(name="report", REPORTS_DIR=str(reports), AUDIT_CHECKPOINT_DIR=str(checkpoints)) as worker:
        response = client.post("/reports/new/", {"kind": "readiness", "period_first": "2026-01-01",
                                                 "period_last": str(date.today())})  # fmt: skip
        assert response.status_code == 302
        report = GeneratedReport.objects.get()
        finished = GeneratedReport.objects.filter(
            pk=report.pk, status__in=[ReportStatus.SUCCEEDED, ReportStatus.FAILED]
        )
        wait_for(finished.first, timeout=120, what="the worker to build the report")
        assert worker.poll() is None, (settings.VAR_DIR / "worker-report.log").read_text()
    report.refresh_from_db()
    assert report.status == ReportStatus.SUCCEEDED, report.error
    assert report.progress == 100 and report.attempts == 1
    rows = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in rows and report.report_id in rows and "Download PDF" in rows
    assert AuditEvent.objects.filter(action="report.generated", object_id=str(report.public_id)).count() == 1
    out = StringIO()
    call_command("report_verify", str(report_path(report)), stdout=out)
    assert out.getvalue().rstrip().endswith("RESULT: VERIFIED"), out.getvalue()
