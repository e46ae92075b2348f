"""The Reports page in a real browser at 1440 and 390 px: every report's status and download link on screen without
scrolling sideways, and the public files an outsider verifies with linked from the page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dr_portal.accounts.models import Role
from incidents.models import GeneratedReport, ReportKind, ReportStatus
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reports_fit_a_phone_and_link_the_public_verification_files(live_server, browser) -> None:
    cora = UserFactory.create(username="cora", role=Role.COMPLIANCE_OFFICER, password="browser password")
    incident = IncidentFactory.create(title="Clinical notes adapter returned another clinic's notes to a third clinic")
    for n, kind in enumerate((ReportKind.INCIDENT, ReportKind.READINESS)):
        GeneratedReport.objects.create(
            report_id=f"RPT-20261201-0000000{n}", kind=kind, requested_by=cora, status=ReportStatus.SUCCEEDED,
            incident=incident if kind == ReportKind.INCIDENT else None,
            period_first=timezone.now().date() if kind == ReportKind.READINESS else None,
            period_last=timezone.now().date() if kind == ReportKind.READINESS else None,
            size_bytes=131_000, pages=15, sha256="ab" * 32, progress=100,
        )  # fmt: skip
    for width, height in ((390, 844), (1440, 900)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "cora")
        page.fill("#id_password", "browser password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/reports/")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width} px: the page is {overflow} px too wide"
        card = page.locator("#report-rows").bounding_box()
        assert card is not None
        buttons = page.locator("#report-rows a.btn", has_text="Download PDF")
        assert buttons.count() == 2
        for i in range(2):
            box = buttons.nth(i).bounding_box()
            assert box is not None and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (width, box, card)
        lead = page.locator("p.lead")
        for href in ("/reports/certificate.pem", "/reports/tsa-certificate.pem", "/reports/audit-key.pem"):
            assert lead.locator(f'a[href="{href}"]').count() == 1, href
        context.close()
