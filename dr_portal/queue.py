"""Send a Celery task once the surrounding transaction commits, without ever failing the commit.

The row is the truth and carries the task id; the message is only a nudge.
If the broker is down the message is lost, the error is logged, and the
workflow's reconciler sends it again later, so a caller never sees a broker
outage as a failed request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)
# One quick reconnect (a pooled connection to a restarted broker), then give up: no request waits on a dead broker.
_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def send_now(
    task: Any,
    *,
    args: Sequence[Any],
    task_id: str | None = None,
    countdown: float | None = None,
    time_limit: int | None = None,
) -> bool:
    """Publish `task` now; False (logged) when the broker cannot be reached.

    `time_limit` (seconds) replaces the default hard limit for this message, for
    work whose own timeout is longer than the worker-wide one; the soft limit
    comes 30 s earlier.
    """
    limits = {"time_limit": time_limit, "soft_time_limit": max(1, time_limit - 30)} if time_limit else {}
    try:
        task.apply_async(args=tuple(args), task_id=task_id, countdown=countdown, retry_policy=_RETRY, **limits)
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
