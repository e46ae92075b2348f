"""A bounded thread pool for a connector's requests, whose first failure stops the whole operation.

A connector that talks to a server over many small requests (the MLflow registry: a run,
its artifacts and a version per model version) spends its time waiting on round trips;
a few threads keep the server busy instead. What matters is failing cleanly: the first
job that raises (by time, not by its place in the list) is what every later wait raises,
jobs not yet started are cancelled, and leaving the ``with`` block waits for those running,
so no thread still writes into a staging folder or a target once the caller has its error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    def __init__(self, threads: int, *, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._failed: Future[None] = Future()  # completes at the first failure, so a wait can watch it

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``job(*args)``; refused (the first error raised) once a job has failed."""
        self.check()
        future = self._pool.submit(job, *args)
        future.add_done_callback(self._note)
        return future

    def _note(self, future: Future[Any]) -> None:
        if future.cancelled() or future.exception() is None:
            return
        with self._lock:
            if self._error is None:
                self._error = future.exception()
                self._failed.set_result(None)

    def check(self) -> None:
        """Raise the first failure of any job, if there was one."""
        if self._error is not None:
            raise self._error

    def result(self, future: Future[T]) -> T:
        """``future``'s result once it is done, or the first failure of any job as soon as there is one."""
        watched: list[Future[Any]] = [future, self._failed]
        wait(watched, return_when=FIRST_COMPLETED)
        self.check()
        return future.result()


def in_parallel(jobs: Sequence[Callable[[], T]], *, threads: int, name: str) -> list[T]:
    """Run ``jobs`` on ``threads`` threads; results in the jobs' order, the first failure raised."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with Workers(min(threads, len(jobs)), name=name) as workers:
        futures = [workers.submit(job) for job in jobs]
        return [workers.result(future) for future in futures]
