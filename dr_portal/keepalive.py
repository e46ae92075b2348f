"""Renew a lease from a side thread while the worker's own thread is busy in one long call.

A step or a backup holds a lease (a timestamp on its row) that its worker renews; a row silent
for longer than the lease is taken over by another worker, because its worker is presumed dead.
Copying files renews it with every progress save, but a connector's own work (pg_restore, a
Redis or MLflow load, a snapshot) makes no progress calls, so one longer than the lease was
taken over while it was still running, and two workers wrote into the same target at once.
`kept_alive` renews the lease every `every` seconds for as long as the process lives and the
call lasts: a worker that is killed stops renewing, and its lease lapses as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, connections

log = logging.getLogger(__name__)


@contextmanager
def kept_alive(renew: Callable[[], bool], *, every: float) -> Iterator[None]:
    """Call `renew` every `every` seconds from a thread while the block runs.

    `renew` returns False once there is nothing left to keep (the row moved on, or its time
    is up); the thread then stops. Inside a transaction nothing is started: a second
    connection could not see the uncommitted row and would only wait on its lock.
    """
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                if not renew():
                    return
        except Exception:  # the lease then lapses, as if the worker had died; the work itself goes on
            log.exception("could not renew a lease")
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name="lease-keeper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
