"""Building compliance reports (twice, lost, failed) and asking for them: pages, downloads, API, command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from incidents.models import GeneratedReport, ReportKind, ReportStatus
from incidents.services import (
    incident_declare,
)
from incidents.services.reports import report_build, report_path, report_request, reports_reconcile
from inventory.models import Asset
from tests.broker import BrokerQueue
from tests.reports.compliance_support import build, closed_incident

pytestmark = pytest.mark.django_db(transaction=True)


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
    # Someone who may not read reports is told which role may (checked before the report is looked
    # up, so it says nothing of whether one exists); a report that does not exist is a 404.
    forbidden = client_for(commander).get(f"/reports/{report.public_id}/download/")
    unknown = client_for(commander).get(f"/reports/{uuid.uuid4()}/download/")
    missing = client_for(compliance).get(f"/reports/{uuid.uuid4()}/download/")
    assert forbidden.status_code == unknown.status_code == 403 and missing.status_code == 404
    assert b"It needs the roles <strong>Admin, Compliance officer</strong>" in unknown.content
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
