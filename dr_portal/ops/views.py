"""Probes for orchestrators and Prometheus: /healthz, /readyz, /metrics."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dr_portal.ops.counters import add_collector
from dr_portal.ops.metrics import build_registry, scrape_options
from dr_portal.ops.services import probe_broker, probe_database, probe_worker


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": probe_database(), "broker": probe_broker()}
    checks["worker"] = probe_worker() if checks["database"] is None else "skipped: database unreachable"
    failures = {name: reason for name, reason in checks.items() if reason}
    if failures:
        reason = "; ".join(f"{name}: {why}" for name, why in failures.items())
        return JsonResponse({"status": "unavailable", "reason": reason, "failed": failures}, status=503)
    return JsonResponse({"status": "ready", "checks": dict.fromkeys(checks, "ok")})


SCRAPE_OPTIONS = ("per_asset", "queues")
_YES, _NO = ("1", "true", "yes"), ("0", "false", "no")


def _scrape_options(request: HttpRequest) -> tuple[list[str], str]:
    """The options asked for, or why the query cannot be read: a typo must not pass for "off"."""
    options = []
    for name in request.GET:
        values = request.GET.getlist(name)
        if name not in SCRAPE_OPTIONS:
            return [], f"unknown parameter {name!r}; the options are {', '.join(SCRAPE_OPTIONS)}"
        if len(values) > 1:
            return [], f"give {name} once"
        value = values[0].strip().lower()
        if value not in _YES + _NO:
            return [], f"{name} must be 1, true, yes, 0, false or no, not {values[0][:40]!r}"
        if value in _YES:
            options.append(name)
    return options, ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if settings.METRICS_TOKEN:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent, settings.METRICS_TOKEN):
            return HttpResponse(
                "metrics need the bearer token in METRICS_TOKEN\n", status=401, content_type="text/plain"
            )
    options, problem = _scrape_options(request)
    if problem:
        return HttpResponse(f"{problem}\n", status=400, content_type="text/plain")
    registry = build_registry()
    add_collector(registry)
    with scrape_options(options):
        body = generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
