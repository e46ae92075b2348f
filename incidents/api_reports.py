"""Compliance reports under /api/v1/reports/: list and read, one command per report kind, download."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import InputSerializer, request_user, validated
from incidents.access import access_incident_by_id, access_report_by_id, access_reports
from incidents.models import GeneratedReport, ReportKind, ReportStatus
from incidents.selectors import report_list
from incidents.services.reports import report_request
from incidents.views.reports import report_file_response


class ReportOut(serializers.ModelSerializer[GeneratedReport]):
    id = serializers.UUIDField(source="public_id")
    incident = serializers.UUIDField(source="incident.public_id", allow_null=True, default=None)
    requested_by = serializers.CharField(source="requested_by.username")
    download = serializers.SerializerMethodField()

    class Meta:
        model = GeneratedReport
        fields = [
            "id", "report_id", "kind", "incident", "period_first", "period_last", "version", "draft", "status",
            "progress", "stage", "requested_by", "requested_at", "finished_at", "size_bytes", "sha256", "pages",
            "audit_seq", "anchor_seq", "error", "download",
        ]  # fmt: skip

    def get_download(self, report: GeneratedReport) -> str | None:
        if report.status != ReportStatus.SUCCEEDED:
            return None
        return f"/api/v1/reports/{report.public_id}/download/"


class IncidentReportIn(InputSerializer):
    incident = serializers.UUIDField()
    final = serializers.BooleanField(default=False, help_text="Refused unless closed and fully signed off.")


class ReadinessReportIn(InputSerializer):
    period_first = serializers.DateField()
    period_last = serializers.DateField()


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[GeneratedReport]):
    """Generated reports, newest first (compliance officers and admins)."""

    serializer_class = ReportOut
    lookup_url_kwarg = "report_id"

    def get_queryset(self) -> QuerySet[GeneratedReport]:
        if getattr(self, "swagger_fake_view", False):
            return GeneratedReport.objects.none()
        access_reports(self.request.user)
        return report_list(limit=1000)

    def get_object(self) -> GeneratedReport:
        return access_report_by_id(self.request.user, self.kwargs["report_id"])


def _queued(report: GeneratedReport) -> Response:
    return Response(ReportOut(report).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(request=IncidentReportIn, responses={202: ReportOut})
@api_view(["POST"])
def report_incident_create(request: Request) -> Response:
    """Queue an incident audit report; poll the report until its status is succeeded."""
    access_reports(request.user)
    data = validated(IncidentReportIn, request)
    incident = access_incident_by_id(request.user, data["incident"])
    report = report_request(kind=ReportKind.INCIDENT, by=request_user(request), incident=incident, final=data["final"])
    return _queued(report)


@extend_schema(request=ReadinessReportIn, responses={202: ReportOut})
@api_view(["POST"])
def report_readiness_create(request: Request) -> Response:
    """Queue a DR readiness report over whole UTC days, first to last inclusive."""
    access_reports(request.user)
    data = validated(ReadinessReportIn, request)
    report = report_request(
        kind=ReportKind.READINESS, by=request_user(request), period_first=data["period_first"],
        period_last=data["period_last"],
    )  # fmt: skip
    return _queued(report)


@extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
@api_view(["GET"])
def report_download_view(request: Request, report_id: str) -> FileResponse:
    """The signed PDF; the download is recorded in the audit log (report.downloaded)."""
    return report_file_response(access_report_by_id(request.user, report_id), by=request_user(request), via="api")
