"""Counters the web processes keep — HTTP requests and alert intake — summed over every process.

The other figures at /metrics are computed from the database when scraped;
these are events that leave no row behind, so each process counts them. Under
gunicorn several worker processes answer requests, and a counter kept in one
process's memory would show only that process's share, whichever one the scrape
reached. So the counts use prometheus_client's multiprocess mode: each process
adds to its own memory-mapped file under METRICS_PROCESS_DIR (a folder under
VAR_DIR, on this host's disk) and the scrape sums every file it finds there.
`gunicorn.conf.py` empties the folder when the server starts (`counts_reset`), so
a restart begins from zero, which Prometheus reads as a counter reset.

Why not the database: a counter row updated by every request would turn each
GET into a write (SQLite takes one writer at a time; on PostgreSQL the busiest
route's row becomes a lock every request waits on), for figures Prometheus only
ever reads as rates. See docs/metrics.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import CollectorRegistry

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = ("accepted", "ignored", "rejected")


def process_dir() -> Path:
    return Path(settings.METRICS_PROCESS_DIR)


def _multiprocess() -> None:
    """Every value made from now on is kept in this process's file under METRICS_PROCESS_DIR.

    prometheus_client picks its value class when it is first imported, from
    PROMETHEUS_MULTIPROC_DIR; the portal imports it before its settings are read,
    so the choice is made here instead, before the first metric below exists.
    """
    folder = process_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    if getattr(values.ValueClass, "__name__", "") != "MmapedValue":
        values.ValueClass = values.MultiProcessValue()


_multiprocess()

HTTP_REQUESTS = Counter(
    "drp_http_requests",
    "HTTP requests answered, by method, route (the URL's name, 'unmatched' when none) and status.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_LATENCY = Histogram(
    "drp_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
ALERTS = Counter(
    "drp_alerts_received",
    "Alerts the intake received, by source and outcome (accepted, ignored, rejected).",
    ["source", "outcome"],
    registry=None,
)


def counts_reset() -> None:
    """Forget every process's counts (the web server calls this as it starts, before its workers)."""
    folder = process_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for file in folder.glob("*.db"):
        file.unlink(missing_ok=True)


def add_collector(registry: CollectorRegistry) -> None:
    """The summed counts of every process, for one scrape."""
    MultiProcessCollector(registry, path=str(process_dir()))


def alerts_counted(source: str, outcome: str, number: int = 1) -> None:
    if number > 0:
        ALERTS.labels(source=source, outcome=outcome).inc(number)


def route_of(request: HttpRequest) -> str:
    """The resolved URL's name, never the path (a path holds ids: one series each)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or "unnamed"


class RequestCountMiddleware:
    """Counts every answer and its latency; first in MIDDLEWARE so that it sees them all."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "OTHER"
        route = route_of(request)
        HTTP_LATENCY.labels(method=method, route=route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        return response
