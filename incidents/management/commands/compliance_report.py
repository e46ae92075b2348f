"""`manage.py compliance_report`: generate a signed incident or readiness report from the command line."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr_portal.accounts.access import Perm, has_role_perm
from dr_portal.accounts.models import User
from incidents.models import GeneratedReport, Incident, ReportKind, ReportStatus
from incidents.services.reports import ReportRefused, report_build, report_download, report_path, report_request


class Command(BaseCommand):
    help = (
        "Generate a compliance report as a named person (who must be a compliance officer or an admin), "
        "the same way the Reports page does. Builds it here unless --queue is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[ReportKind.INCIDENT, ReportKind.READINESS])
        parser.add_argument("incident", nargs="?", help="incident: its reference (INC-12, DRL-3) or public id")
        parser.add_argument("--from", dest="first", type=date.fromisoformat, help="readiness: first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, help="readiness: last day, YYYY-MM-DD")
        parser.add_argument("--user", required=True, help="username the report is generated for and by")
        parser.add_argument("--output", type=Path, help="copy the signed PDF here (recorded as a download)")
        parser.add_argument("--queue", action="store_true", help="hand the build to a worker and return at once")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None or not has_role_perm(user, Perm.VIEW_REPORTS):
            raise CommandError(f"{options['user']!r} is not an active compliance officer or admin")
        try:
            if options["kind"] == ReportKind.INCIDENT:
                report = report_request(kind=ReportKind.INCIDENT, by=user, incident=_incident(options["incident"]))
            else:
                if options["first"] is None or options["last"] is None:
                    raise CommandError("a readiness report needs --from and --to")
                report = report_request(
                    kind=ReportKind.READINESS, by=user, period_first=options["first"], period_last=options["last"]
                )
        except ReportRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(f"{report.report_id}: queued")
        if options["queue"]:
            return
        self.stdout.write(report_build(report_id=report.pk))
        report = GeneratedReport.objects.select_related("incident").get(pk=report.pk)
        if report.status != ReportStatus.SUCCEEDED:
            raise CommandError(f"{report.report_id}: {report.status}: {report.error}")
        self.stdout.write(f"file      {report_path(report)}")
        self.stdout.write(f"sha256    {report.sha256}")
        self.stdout.write(f"size      {report.size_bytes} bytes, {report.pages} pages")
        self.stdout.write(
            f"audit     report.generated at seq {report.audit_seq}; evidence anchored at seq {report.anchor_seq}"
        )
        if options["output"] is not None:
            source = report_download(report=report, by=user, via="command")
            shutil.copyfile(source, options["output"])
            self.stdout.write(f"copied to {options['output']}")


def _incident(value: str | None) -> Incident:
    if not value:
        raise CommandError("an incident report needs the incident's reference or id")
    prefix, _, number = value.upper().partition("-")
    if prefix in ("INC", "DRL") and number.isdigit():
        incident = Incident.objects.filter(pk=int(number), kind="drill" if prefix == "DRL" else "real").first()
    else:
        try:
            incident = Incident.objects.filter(public_id=value).first()
        except Exception:
            incident = None
    if incident is None:
        raise CommandError(f"no incident {value}")
    return incident
