"""Prometheus metrics, computed from the database at scrape time.

Apps add their own figures with `register(collector)`; a collector is any
callable that yields prometheus_client metric families.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

CollectorFn = Callable[[], Iterable[Metric]]
_collectors: list[CollectorFn] = []
# Options of the scrape in progress (query parameters set to 1/true), for collectors with optional detail.
_options: ContextVar[frozenset[str]] = ContextVar("metrics_scrape_options", default=frozenset())


def scrape_option(name: str) -> bool:
    return name in _options.get()


@contextmanager
def scrape_options(names: Iterable[str]) -> Iterator[None]:
    token = _options.set(frozenset(names))
    try:
        yield
    finally:
        _options.reset(token)


def register(fn: CollectorFn) -> CollectorFn:
    if fn not in _collectors:
        _collectors.append(fn)
    return fn


@register
def _people() -> Iterator[Metric]:
    from dr_portal.accounts.models import User

    family = GaugeMetricFamily("drp_users", "Active people by role.", labels=["role"])
    for row in User.objects.filter(is_active=True).values("role").annotate(n=Count("id")).order_by("role"):
        family.add_metric([row["role"]], row["n"])
    yield family


@register
def _workers() -> Iterator[Metric]:
    from dr_portal.ops.services import heartbeat_latest

    seen = heartbeat_latest()
    family = GaugeMetricFamily(
        "drp_worker_heartbeat_age_seconds", "Seconds since the newest Celery worker heartbeat (-1 if never)."
    )
    family.add_metric([], (timezone.now() - seen).total_seconds() if seen else -1)
    yield family


class _AppCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for fn in list(_collectors):
            yield from fn()


def build_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AppCollector())
    return registry
