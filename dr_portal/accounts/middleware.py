"""Turns the access layer's refusals into pages: MfaRequired into a trip to the MFA page, a missing
role into the product's 403 page naming the roles that may, and a denied or missing object into its 404.

Django's debug pages (on under `make run`) would list every URL of the project to a person who
was only refused; these answers are the same with DEBUG on and off. The API keeps its own shape.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from dr_portal.accounts.access import MfaRequired, RoleRequired
from dr_portal.api_errors import API_PREFIX


class AccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RoleRequired):
            return render(request, "403.html", {"roles": exception.roles}, status=403)
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if not isinstance(exception, MfaRequired):
            return None
        url = reverse("accounts:mfa") + "?" + urlencode({"next": request.get_full_path()})
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
