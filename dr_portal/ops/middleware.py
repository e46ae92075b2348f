"""A strict Content-Security-Policy: our pages load only our own static files."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        return response


class DebugNotFoundMiddleware:
    """With DEBUG on (as `make run` serves the demo) Django answers a page that is not there with its
    debug page, which lists every URL pattern and is no page for a person; this gives the site's own
    404 page instead, as production does. Under /api/ ApiNotFoundMiddleware answers in JSON.

    It sits outside CommonMiddleware, so an address missing only its slash is still redirected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.template.loader import render_to_string

        response = self.get_response(request)
        if not (settings.DEBUG and response.status_code == 404):
            return response
        if request.path.startswith("/api/") or not str(response.get("Content-Type", "")).startswith("text/html"):
            return response
        page = HttpResponse(render_to_string("404.html", request=request), status=404)
        page.cookies = response.cookies
        return page
