"""Send a Celery task once the surrounding transaction commits, without ever failing the commit.

Every task send in DR Portal goes through here. The row is the truth and
carries the task id; the message is only a nudge. If the broker is down, or
up but not answering, the send gives up after about `SEND_TIMEOUT` seconds,
the message is lost, the error is logged, and the workflow's reconciler sends
it again later, so a caller never sees a broker outage as a failed (or hung)
request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

# Seconds one send may wait for the broker (connect, then each read/write).
SEND_TIMEOUT = 1.0
# One connection attempt (kombu would otherwise retry it until connect_timeout,
# sleeping between tries); for transports with sockets (Redis) bound the connect
# and every reply, so a frozen broker that accepts connections but never
# answers cannot hold a request either.
_SEND_OPTIONS = {"max_retries": 0, "socket_connect_timeout": SEND_TIMEOUT, "socket_timeout": SEND_TIMEOUT}


def send_now(
    task: Any,
    *,
    args: Sequence[Any],
    task_id: str | None = None,
    countdown: float | None = None,
    time_limit: int | None = None,
) -> bool:
    """Publish `task` now; False (logged) when the broker cannot be reached in time.

    `time_limit` (seconds) replaces the default hard limit for this message, for
    work whose own timeout is longer than the worker-wide one; the soft limit
    comes 30 s earlier.
    """
    limits = {"time_limit": time_limit, "soft_time_limit": max(1, time_limit - 30)} if time_limit else {}
    try:
        # A connection of its own with short timeouts rather than the shared pool,
        # whose connections wait as long as a worker's would; one attempt, no retries.
        with task.app.connection_for_write(connect_timeout=SEND_TIMEOUT, transport_options=_SEND_OPTIONS) as conn:
            task.apply_async(
                args=tuple(args), task_id=task_id, countdown=countdown, connection=conn, retry=False, **limits
            )
    except Exception as exc:  # kombu raises many kinds for an unreachable broker
        log.warning(
            "could not send %s%s (%s: %s); the reconciler will retry", task.name, tuple(args), type(exc).__name__, exc
        )
        return False
    return True


def send_on_commit(
    task: Any,
    *,
    args: Sequence[Any],
    task_id: str | None = None,
    countdown: float | None = None,
    time_limit: int | None = None,
) -> None:
    """Publish `task` after the current transaction commits (at once outside one)."""
    transaction.on_commit(
        lambda: send_now(task, args=args, task_id=task_id, countdown=countdown, time_limit=time_limit)
    )
