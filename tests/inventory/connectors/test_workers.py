"""The connectors' bounded worker pool: the first failure by time is the one raised, and nothing runs on after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from inventory.connectors.workers import in_parallel


class Early(Exception):
    pass


class Late(Exception):
    pass


def test_results_come_back_in_the_jobs_order() -> None:
    def job(i: int) -> int:
        time.sleep(0.01 * (5 - i))  # later jobs finish first
        return i

    jobs: list[Callable[[], int]] = [partial(job, i) for i in range(5)]
    assert in_parallel(jobs, threads=3, name="t-order") == [0, 1, 2, 3, 4]


def test_the_first_failure_in_time_is_raised_and_the_jobs_not_started_are_cancelled() -> None:
    failed = threading.Event()
    ran: list[int] = []

    def first() -> None:
        failed.wait(5)
        time.sleep(0.2)  # well after job 1's failure was recorded
        raise Late("job 0 failed after job 1")

    def second() -> None:
        failed.set()
        raise Early("job 1 failed first")

    def rest(i: int) -> None:
        ran.append(i)
        time.sleep(0.05)

    jobs: list[Callable[[], None]] = [first, second, *[partial(rest, i) for i in range(2, 40)]]
    with pytest.raises(Early, match="job 1 failed first"):
        in_parallel(jobs, threads=2, name="t-fail")
    assert len(ran) < 10, "the queued jobs were cancelled, not run"
    assert not [t for t in threading.enumerate() if t.name.startswith("t-fail")], "no worker outlives the call"
