"""The notification register, sign-offs, obligations and the Art. 33(5) breach register over the API."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import Perm, check
from dr_portal.accounts.models import SignoffDuty
from dr_portal.api_request import InputSerializer, request_user, validated
from incidents.access import access_incident_by_id
from incidents.compliance.exports import access_incident_exports, export_download
from incidents.compliance.models import NoticePhase, RecipientKind, SignoffDecision
from incidents.compliance.notices import MAX_ATTACHMENT, incident_notifications, notification_record
from incidents.compliance.obligations import assessment_obligations, time_flags
from incidents.compliance.register import breach_register
from incidents.compliance.signoffs import signoff_record, signoff_status
from incidents.models import Regime


class NotificationOut(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="notification.public_id")
    kind = serializers.CharField(source="notification.kind")
    kind_label = serializers.CharField(source="notification.get_kind_display")
    regime = serializers.CharField(
        source="notification.regime", help_text="Blank: every regime of the recipient kind; else the only one."
    )
    regimes = serializers.ListField(
        source="notification.regimes", child=serializers.CharField(), help_text="The clocks this notice stops."
    )
    phase = serializers.CharField(source="notification.phase")
    recipient = serializers.CharField(source="notification.recipient")
    channel = serializers.CharField(source="notification.channel")
    sent_at = serializers.DateTimeField(source="notification.sent_at")
    count_notified = serializers.IntegerField(source="notification.count_notified", allow_null=True)
    reference = serializers.CharField(source="notification.reference")
    summary = serializers.CharField(source="notification.summary")
    attachment_name = serializers.CharField(source="notification.attachment_name")
    attachment_sha256 = serializers.CharField(source="notification.attachment_sha256")
    recorded_by = serializers.CharField(source="notification.recorded_by.username")
    seq = serializers.IntegerField(source="notification.audit_seq", allow_null=True)
    due_at = serializers.DateTimeField(source="deadline.due_at", allow_null=True)
    deadline_rule = serializers.CharField(source="deadline.rule")
    deadline = serializers.CharField(source="verdict", help_text="met, missed or no fixed deadline")


class NotificationIn(InputSerializer):
    kind = serializers.ChoiceField(choices=RecipientKind.choices)
    phase = serializers.ChoiceField(choices=NoticePhase.choices, default=NoticePhase.INITIAL)
    regime = serializers.ChoiceField(choices=Regime.choices, required=False, allow_blank=True, default="")
    recipient = serializers.CharField(max_length=200)
    channel = serializers.CharField(max_length=100)
    sent_at = serializers.DateTimeField()
    count_notified = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2_000_000_000)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    summary = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    attachment_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attachment_base64 = serializers.CharField(required=False, allow_blank=True, default="")
    late_reason = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for a notice after its deadline.",
    )


def _attachment(data: dict[str, Any]) -> tuple[str, str, bytes] | None:
    encoded = data.pop("attachment_base64", "")
    name = data.pop("attachment_name", "")
    if not encoded:
        return None
    if len(encoded) > (MAX_ATTACHMENT * 4) // 3 + 8:
        raise ValidationError({"attachment_base64": "The attachment is larger than 5 MiB."})
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({"attachment_base64": "Not base64."}) from None
    return (name or "attachment", "application/octet-stream", content)


@extend_schema(methods=["GET"], responses=NotificationOut(many=True))
@extend_schema(methods=["POST"], request=NotificationIn, responses={201: NotificationOut(many=True)})
@api_view(["GET", "POST"])
def notifications(request: Request, incident_id: str) -> Response:
    """The incident's notification register, each notice judged met / missed against its deadline."""
    me = request_user(request)
    if request.method == "GET":
        incident = access_incident_by_id(me, incident_id)
        return Response(NotificationOut(incident_notifications(incident=incident), many=True).data)
    incident = access_incident_by_id(me, incident_id, for_write=True)
    data = validated(NotificationIn, request)
    attachment = _attachment(data)
    notification_record(incident=incident, by=me, attachment=attachment, **data)
    rows = incident_notifications(incident=incident)
    return Response(NotificationOut(rows, many=True).data, status=status.HTTP_201_CREATED)


class SignoffIn(InputSerializer):
    duty = serializers.ChoiceField(choices=SignoffDuty.choices)
    decision = serializers.ChoiceField(choices=SignoffDecision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class DutyOut(serializers.Serializer[Any]):
    duty = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    signed = serializers.BooleanField()
    decision = serializers.CharField(source="latest.decision", allow_null=True, default=None)
    by = serializers.CharField(source="latest.user.username", allow_null=True, default=None)
    at = serializers.DateTimeField(source="latest.signed_at", allow_null=True, default=None)
    reason = serializers.CharField(source="latest.reason", allow_null=True, default=None)
    seq = serializers.IntegerField(source="latest.audit_seq", allow_null=True, default=None)


class SignoffsOut(serializers.Serializer[Any]):
    complete = serializers.BooleanField()
    duties = DutyOut(many=True)


@extend_schema(methods=["GET"], responses=SignoffsOut)
@extend_schema(methods=["POST"], request=SignoffIn, responses={201: SignoffsOut})
@api_view(["GET", "POST"])
def signoffs(request: Request, incident_id: str) -> Response:
    """The report's sign-off block; POST signs (or refuses with a reason) for a duty you hold, with MFA."""
    me = request_user(request)
    incident = access_incident_by_id(me, incident_id)
    if request.method == "POST":
        signoff_record(incident=incident, by=me, **validated(SignoffIn, request))
        return Response(SignoffsOut(signoff_status(incident=incident)).data, status=status.HTTP_201_CREATED)
    return Response(SignoffsOut(signoff_status(incident=incident)).data)


class ObligationOut(serializers.Serializer[Any]):
    regime = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    because = serializers.CharField()
    outstanding = serializers.ListField(child=serializers.CharField())
    done = serializers.BooleanField()


class TimeFlagOut(serializers.Serializer[Any]):
    field = serializers.CharField()
    message = serializers.CharField()


class ObligationsOut(serializers.Serializer[Any]):
    assessments = ObligationOut(many=True)
    time_flags = TimeFlagOut(many=True)


@extend_schema(responses=ObligationsOut)
@api_view(["GET"])
def obligations(request: Request, incident_id: str) -> Response:
    """Mandatory assessments (from the assets' data classes) and contradicting times."""
    incident = access_incident_by_id(request_user(request), incident_id)
    return Response(
        ObligationsOut({"assessments": assessment_obligations(incident), "time_flags": time_flags(incident)}).data
    )


class BreachEntryOut(serializers.Serializer[Any]):
    incident = serializers.UUIDField(source="incident.public_id")
    reference = serializers.CharField(source="incident.reference")
    title = serializers.CharField(source="incident.title")
    facts = serializers.CharField()
    began_at = serializers.DateTimeField(allow_null=True)
    aware_at = serializers.DateTimeField(allow_null=True)
    subjects = serializers.IntegerField(allow_null=True)
    effects = serializers.CharField()
    remedial = serializers.CharField()
    risk = serializers.CharField()
    notified_at = serializers.DateTimeField(allow_null=True)
    notified_reference = serializers.CharField()
    reasoning = serializers.CharField()


@extend_schema(responses=BreachEntryOut(many=True))
@api_view(["GET"])
def breach_register_view(request: Request) -> Response:
    """GDPR Art. 33(5): every personal-data breach, notified or not, with the reasoning."""
    check(request_user(request), Perm.VIEW_REPORTS)
    return Response(BreachEntryOut(breach_register(), many=True).data)


def _export(request: Request, incident_id: str, name: str) -> HttpResponse:
    incident = access_incident_exports(request.user, incident_id)
    content_type, body = export_download(incident=incident, name=name, by=request_user(request), via="api")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}-{name}"'
    return response


@extend_schema(
    responses={(200, "application/json"): OpenApiTypes.OBJECT},
    description="The GDPR Art. 33 notification facts; keys are `incidents.compliance.exports.GDPR_FIELDS`, "
    'and a fact nobody has given is "not yet assessed", "not recorded" or "not yet notified".',
)
@api_view(["GET"])
def export_gdpr(request: Request, incident_id: str) -> HttpResponse:
    """The GDPR breach notification as JSON (compliance, admins, commanders); recorded in the audit log."""
    return _export(request, incident_id, "gdpr.json")


@extend_schema(
    responses={(200, "text/csv"): OpenApiTypes.STR},
    description="One header row (`incidents.compliance.exports.HHS_FIELDS`, the OCR breach portal's fields) "
    "and one row of values.",
)
@api_view(["GET"])
def export_hhs(request: Request, incident_id: str) -> HttpResponse:
    """The HHS OCR breach-portal fields as CSV (compliance, admins, commanders); recorded in the audit log."""
    return _export(request, incident_id, "hhs.csv")
