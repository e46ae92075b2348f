"""The Reports page: generated compliance reports, starting one, downloading one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dr_portal.accounts.models import User
from dr_portal.http import AuthenticatedHttpRequest
from incidents.access import access_incident_by_id, access_report_by_id, access_reports
from incidents.forms import IncidentReportForm, ReadinessReportForm, last_month
from incidents.models import GeneratedReport, ReportKind, ReportStatus
from incidents.selectors import report_incident_choices, report_list
from incidents.services.reports import ReportRefused, report_download, report_path, report_request


def _last_month() -> dict[str, object]:
    first, last = last_month()
    return {"period_first": first, "period_last": last}


def _context(request: AuthenticatedHttpRequest, **extra: object) -> dict[str, object]:
    reports = list(report_list())
    incidents = report_incident_choices()
    return {
        "reports": reports,
        "building": any(r.is_active for r in reports),
        "incident_form": extra.pop("incident_form", None) or IncidentReportForm(incidents=incidents),
        "readiness_form": extra.pop("readiness_form", None) or ReadinessReportForm(initial=_last_month()),
        **extra,
    }


@login_required
@require_GET
def reports(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_reports(request.user)
    if request.htmx:
        return render(request, "incidents/reports.html#report-rows", _context(request))
    return render(request, "incidents/reports.html", _context(request))


@login_required
@require_POST
def report_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_reports(request.user)
    kind = request.POST.get("kind", "")
    incident_form = readiness_form = None
    try:
        if kind == ReportKind.INCIDENT:
            incident_form = IncidentReportForm(request.POST, incidents=report_incident_choices())
            if incident_form.is_valid():
                incident = access_incident_by_id(request.user, incident_form.cleaned_data["incident"])
                report = report_request(kind=kind, by=request.user, incident=incident)
                messages.success(request, f"Building {report.report_id} for {incident.reference}.")
                return redirect("incidents:reports")
        elif kind == ReportKind.READINESS:
            readiness_form = ReadinessReportForm(request.POST)
            if readiness_form.is_valid():
                data = readiness_form.cleaned_data
                report = report_request(
                    kind=kind, by=request.user, period_first=data["period_first"], period_last=data["period_last"]
                )
                messages.success(
                    request, f"Building {report.report_id} for {data['period_first']} to {data['period_last']}."
                )
                return redirect("incidents:reports")
        else:
            raise Http404
    except ReportRefused as refused:
        messages.error(request, str(refused))
        return redirect("incidents:reports")
    context = _context(request, incident_form=incident_form, readiness_form=readiness_form)
    return render(request, "incidents/reports.html", context, status=400)


@login_required
@require_GET
def report_file(request: AuthenticatedHttpRequest, report_id: str) -> FileResponse:
    return report_file_response(access_report_by_id(request.user, report_id), by=request.user, via="web")


def report_file_response(report: GeneratedReport, *, by: User, via: str) -> FileResponse:
    """The signed PDF as a download (recorded as report.downloaded); a 404 until it is built (page and API)."""
    if report.status != ReportStatus.SUCCEEDED or not report_path(report).is_file():
        raise Http404
    path = report_download(report=report, by=by, via=via)
    response = FileResponse(
        path.open("rb"), content_type="application/pdf", as_attachment=True, filename=report.download_name
    )
    response["X-Report-SHA256"] = report.sha256
    return response
