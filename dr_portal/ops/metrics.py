"""Prometheus metrics, computed from the database at scrape time.

Apps add their own figures with `register(collector)`; a collector is any
callable that yields prometheus_client metric families.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
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


@register
def _queues() -> Iterator[Metric]:
    """Queue depth per Celery queue, only with `?queues=1`: it asks the broker (bounded by the probe's
    timeouts), which a scrape of the database figures alone never does."""
    if not scrape_option("queues"):
        return
    from django.conf import settings

    from dr_portal.ops.services import queue_depths

    depths = queue_depths(tuple(settings.TASK_QUEUE_NAMES))
    up = GaugeMetricFamily("drp_queue_depth_up", "1 when the broker answered the queue-depth read, else 0.")
    up.add_metric([], 1 if depths is not None else 0)
    yield up
    family = GaugeMetricFamily("drp_queue_depth", "Messages waiting per Celery queue.", labels=["queue"])
    for name, depth in sorted((depths or {}).items()):
        family.add_metric([name], depth)
    yield family


def counts_by(name: str, doc: str, rows: QuerySet[Any], field: str, label: str) -> GaugeMetricFamily:
    """One gauge per value of `field`: rows counted with one GROUP BY."""
    family = GaugeMetricFamily(name, doc, labels=[label])
    for row in rows.values(field).annotate(n=Count("pk")).order_by(field):
        family.add_metric([str(row[field])], row["n"])
    return family


# Upper bounds (seconds) of the duration buckets: a step of a few seconds to a restore of hours.
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200)
# How long people take to decide on an approval: a minute to a day (the default TTL is an hour).
APPROVAL_WAIT_BUCKETS: tuple[float, ...] = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 86400)


def durations_by(
    name: str,
    doc: str,
    rows: QuerySet[Any],
    field: str,
    label: str,
    *,
    start: str = "started_at",
    end: str = "finished_at",
    buckets: tuple[float, ...] = DURATION_BUCKETS,
) -> HistogramMetricFamily:
    """A histogram of end - start (seconds) per value of `field`; rows lacking either are left out.

    One GROUP BY whatever the number of rows: each bucket is a filtered count in the same
    query (a row in bucket `le` took at most `le` seconds, so the counts are cumulative).
    """
    took = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    done = rows.filter(**{f"{start}__isnull": False, f"{end}__isnull": False}).annotate(took=took)
    per_bucket = {f"le_{i}": Count("pk", filter=Q(took__lte=timedelta(seconds=b))) for i, b in enumerate(buckets)}
    family = HistogramMetricFamily(name, doc, labels=[label])
    for row in done.values(field).annotate(n=Count("pk"), took_sum=Sum("took"), **per_bucket).order_by(field):
        counts = [(_le(b), float(row[f"le_{i}"])) for i, b in enumerate(buckets)]
        family.add_metric([str(row[field])], [*counts, ("+Inf", float(row["n"]))], _seconds(row["took_sum"]))
    return family


def _le(bound: float) -> str:
    return str(float(bound))


def sums_by(name: str, doc: str, rows: QuerySet[Any], field: str, label: str, *, total: str) -> GaugeMetricFamily:
    """The sum of `total` per value of `field` (bytes moved, say)."""
    family = GaugeMetricFamily(name, doc, labels=[label])
    for row in rows.values(field).annotate(total=Sum(total)).order_by(field):
        family.add_metric([str(row[field])], float(row["total"] or 0))
    return family


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1e6  # a backend that sums durations as microseconds


class _AppCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for fn in list(_collectors):
            yield from fn()


def build_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AppCollector())
    return registry
