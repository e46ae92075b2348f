"""One helper thread that runs calls strictly in the order they were handed over.

The engine moves work that releases the GIL (``pwrite`` into the page cache, SHA-256 of
a large buffer) off the thread that reads, decrypts or encrypts, so the two overlap on a
second core. At most ``depth`` calls wait, so memory stays a few chunks whatever the
file size. The first error is kept, later calls are skipped, and the error is raised to
the caller at its next hand-over or :meth:`InOrder.drain`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class InOrder:
    def __init__(self, name: str, depth: int = 3) -> None:
        self._queue: queue.Queue[tuple[Callable[..., object], tuple[Any, ...]] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    item[0](*item[1])
            except BaseException as exc:  # handed to the caller at the next drain
                self._error = exc
            finally:
                self._queue.task_done()

    def call(self, function: Callable[..., object], *args: Any) -> None:
        """Queue ``function(*args)``; the arguments must stay unchanged until it has run."""
        if self._error is not None:
            self.drain()
        self._queue.put((function, args))

    def drain(self, *, raise_errors: bool = True) -> None:
        """Wait until every queued call has run; raise the first error one of them met."""
        self._queue.join()
        error, self._error = self._error, None
        if error is not None and raise_errors:
            raise error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
