"""Alert intake endpoints: Alertmanager webhook v4 and a generic JSON webhook.

They are called by machines, not people: a dedicated bearer token
(ALERT_INTAKE_TOKEN) instead of a person's API token, compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import get_authorization_header
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.ops.counters import alerts_counted
from incidents.intake import InboundBatch, PayloadInvalid, parse_alertmanager, parse_generic
from incidents.services import alerts_ingest


class IntakeOff(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "intake_disabled"
    default_detail = "Alert intake is off: set ALERT_INTAKE_TOKEN."


class BadIntakeToken(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "authentication_failed"
    default_detail = "Send the intake token as 'Authorization: Bearer <token>'."


class BadPayload(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_payload"


def _check_token(request: Request) -> None:
    expected = settings.ALERT_INTAKE_TOKEN
    if not expected:
        raise IntakeOff
    parts = get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() != b"bearer" or not hmac.compare_digest(parts[1], expected.encode()):
        raise BadIntakeToken


def _ingest(request: Request, parse: Callable[[Any], InboundBatch], source: str) -> Response:
    try:
        _check_token(request)
        try:
            batch = parse(request.data)
        except PayloadInvalid as invalid:
            raise BadPayload(str(invalid)) from None
    except exceptions.APIException:
        alerts_counted(source, "rejected")  # one per refused request: its alerts cannot be counted
        raise
    result = alerts_ingest(batch=batch)
    alerts_counted(source, "accepted", result.new + result.repeated + result.resolved + result.inbox)
    alerts_counted(source, "ignored", result.ignored + result.truncated)
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return Response(result.as_dict(), status=code)


_RESPONSES = {
    200: OpenApiResponse(description="Applied to an open incident, or nothing matched"),
    201: OpenApiResponse(description="A new incident was declared"),
    400: OpenApiResponse(description="Invalid payload; nothing was written"),
    401: OpenApiResponse(description="Missing or wrong intake token"),
}


@extend_schema(request=dict, responses=_RESPONSES, auth=[])
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def alertmanager(request: Request) -> Response:
    """Prometheus Alertmanager webhook (version 4).

    Firing alerts whose labels match assets (an `asset=<name>` label, or all of
    an asset's own labels) open an incident, or update the open one for the
    same group key or fingerprint; resolved alerts add timeline entries.
    """
    return _ingest(request, parse_alertmanager, "alertmanager")


@extend_schema(request=dict, responses=_RESPONSES, auth=[])
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def generic(request: Request) -> Response:
    """Any monitoring tool, one alert per request.

    {"dedupe_key", "title", "status": "firing"|"resolved", "labels", "severity"?, "description"?}
    """
    return _ingest(request, parse_generic, "generic")
