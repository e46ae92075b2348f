"""Operational writes and probes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dr_portal.ops.models import WorkerHeartbeat

# Seconds the readiness probe waits for the broker at each step.
PROBE_TIMEOUT = 1.0


def heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"seen_at": timezone.now()})


def heartbeat_latest() -> datetime | None:
    row = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return row


def probe_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable: {exc.__class__.__name__}: {exc}".strip()
    return None


def probe_broker() -> str | None:
    """None when the broker answers within about PROBE_TIMEOUT seconds, else why not."""
    from dr_portal.celery import app

    options = {"max_retries": 0, "socket_connect_timeout": PROBE_TIMEOUT, "socket_timeout": PROBE_TIMEOUT}
    try:
        # A channel makes the transport talk to the broker (Redis: PING), each step bounded,
        # so a frozen broker that accepts connections and never answers fails the probe too.
        with app.connection_for_write(connect_timeout=PROBE_TIMEOUT, transport_options=options) as conn:
            conn.default_channel  # noqa: B018
    except Exception as exc:  # kombu raises many kinds; all mean "not ready"
        return f"broker unreachable: {exc.__class__.__name__}: {exc}".strip()
    return None


def queue_depths(names: tuple[str, ...]) -> dict[str, int] | None:
    """Messages waiting on each queue, asked of the broker with the probe's timeouts; None if it did not answer."""
    from dr_portal.celery import app

    options = {"max_retries": 0, "socket_connect_timeout": PROBE_TIMEOUT, "socket_timeout": PROBE_TIMEOUT}
    try:
        with app.connection_for_write(connect_timeout=PROBE_TIMEOUT, transport_options=options) as conn:
            channel: Any = conn.default_channel  # kombu's stub type lacks queue_declare
            # A declare of an existing queue changes nothing and answers with its message count.
            return {name: int(channel.queue_declare(queue=name).message_count) for name in names}
    except Exception:  # kombu raises many kinds; all mean "no figure this scrape"
        return None


def probe_worker() -> str | None:
    try:
        seen = heartbeat_latest()
    except Exception as exc:
        return f"cannot read worker heartbeat: {exc.__class__.__name__}"
    if seen is None:
        return "no worker has reported a heartbeat yet"
    age = timezone.now() - seen
    if age > timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE):
        return (
            f"newest worker heartbeat is {int(age.total_seconds())} s old (limit {settings.WORKER_HEARTBEAT_MAX_AGE} s)"
        )
    return None
