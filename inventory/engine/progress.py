"""Progress reports and cancel polls for long engine work, rate limited."""

from __future__ import annotations

import time
from collections.abc import Callable

from inventory.engine.errors import Cancelled
from inventory.engine.fmt import human_size

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


class Ticker:
    """Reports progress and polls for cancellation at most every ``interval`` seconds.

    Both callbacks may be costly (a database write, a query), so they are rate limited;
    the last progress report is always delivered by :meth:`finish`.
    """

    def __init__(
        self,
        *,
        total: int,
        progress: ProgressFn | None,
        should_cancel: CancelFn | None,
        interval: float,
        what: str,
    ) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._should_cancel = should_cancel
        self._interval = interval
        self._last = float("-inf")
        self._what = what
        self.files_done = 0
        self.files_total = 0

    def add(self, amount: int) -> None:
        self.done += amount
        self.poll()

    def poll(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        if self._progress is not None:
            self._progress(self.done, self.total)
        if self._should_cancel is not None and self._should_cancel():
            raise Cancelled(
                f"{self._what} was cancelled after {self.files_done} of {self.files_total} files "
                f"({human_size(self.done)} of {human_size(self.total)})."
            )

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total)
