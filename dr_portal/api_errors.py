"""The API's one error shape and the one place exceptions become it.

Every error under /api/ is `{"error": {"status", "code", "detail", "fields"?}}`:

- a `Refused` (the rules forbid it now) is 409 with the refusal's `code`;
- bad input (a serializer's or Django's `ValidationError`, a malformed id) is 400,
  with `fields` when the problem belongs to named fields;
- not found and not allowed to see are the same 404;
- a missing second factor is 403 `mfa_required`;
- anything unexpected is 500 in the same shape, its traceback logged.

Django's own 404/500 pages are replaced for /api/ paths by `handler404` and
`handler500` below, so a URL that matches no route is JSON too; with DEBUG on Django
skips `handler404` for its debug page, so `ApiNotFoundMiddleware` gives the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from dr_portal.accounts.access import MalformedId, MfaRequired
from dr_portal.errors import Refused

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


class BadInput(exceptions.APIException):
    """400 with a single message (no per-field errors)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request is invalid."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"
    default_detail = "Refused."


def _django_fields(error: DjangoValidationError) -> dict[str, Any]:
    if hasattr(error, "error_dict"):
        return dict(error.message_dict)
    return {"non_field_errors": list(error.messages)}


def _as_api_exception(exc: Exception) -> Exception:
    """Turn the exceptions our code raises into the DRF exception with the right status."""
    if isinstance(exc, Refused):
        return Conflict(exc.message, code=exc.code)
    if isinstance(exc, MalformedId):
        return BadInput("The id in the path is not a valid identifier.", code="malformed_id")
    if isinstance(exc, MfaRequired):
        return exceptions.PermissionDenied(
            "This action needs a second factor: request a token with your one-time code.", code="mfa_required"
        )
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        # Not allowed to see is answered as not there, like everywhere else.
        return exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(_django_fields(exc))
    if isinstance(exc, (DataError, OverflowError)):
        # A value the column cannot hold (an integer past its range) that no serializer bound caught.
        log.warning("value out of range for its column: %s", exc)
        return BadInput("A value is too large or otherwise out of range for what it is stored in.", code="out_of_range")
    return exc


def error_body(status_code: int, code: str, detail: str, fields: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status_code, "code": code, "detail": detail}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every exception becomes the error shape."""
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        log.error("unexpected error in %s", type(view).__name__ if view else "API view", exc_info=exc)
        set_rollback()
        return Response(
            error_body(500, "server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    assert isinstance(exc, exceptions.APIException)  # DRF answers only for these
    codes = exc.get_codes()
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        code = codes.get("detail", "error") if isinstance(codes, dict) else codes
        if isinstance(code, list):
            code = code[0] if code else "invalid"
        response.data = error_body(response.status_code, str(code), str(data["detail"]))
    else:
        response.data = error_body(response.status_code, "invalid", "The request has invalid fields.", data)
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for a URL no route matches: JSON under /api/, the normal page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body(404, "not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


class ApiNotFoundMiddleware:
    """Any 404 under /api/ that is not already JSON becomes the error shape, whatever DEBUG says.

    With DEBUG on Django answers a URL no route matches with its HTML debug page and never
    calls `handler404`; clients of the API must see the same JSON in development and production.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and _is_api(request)
            and not str(response.get("Content-Type", "")).startswith("application/json")
        ):
            return JsonResponse(error_body(404, "not_found", "Not found."), status=404)
        return response


def handler500(request: HttpRequest) -> HttpResponse:
    """An error outside DRF's reach (middleware, a plain view): JSON under /api/."""
    if _is_api(request):
        return JsonResponse(
            error_body(500, "server_error", "Something went wrong on our side; it has been logged."), status=500
        )
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(400, "bad_request", "The request could not be understood."), status=400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(403, "permission_denied", "You may not do this."), status=403)
    return defaults.permission_denied(request, exception)
