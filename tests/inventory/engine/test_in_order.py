"""The engine's helper thread: calls run in the order given, and the first error reaches the caller."""

from __future__ import annotations

import threading
import time

import pytest

from inventory.engine.in_order import InOrder


def test_calls_run_on_the_helper_in_the_order_they_were_handed_over() -> None:
    seen: list[tuple[int, str]] = []

    def record(n: int) -> None:
        time.sleep(0.001 * (n % 3))  # uneven work must not reorder anything
        seen.append((n, threading.current_thread().name))

    helper = InOrder("test-helper", depth=2)
    try:
        for n in range(30):
            helper.call(record, n)
        helper.drain()
    finally:
        helper.close()
    assert [n for n, _ in seen] == list(range(30))
    assert {name for _, name in seen} == {"test-helper"}


def test_the_first_error_is_raised_to_the_caller_and_later_calls_are_skipped() -> None:
    ran: list[int] = []

    def step(n: int) -> None:
        if n == 2:
            raise OSError(28, "No space left on device")
        ran.append(n)

    helper = InOrder("test-helper", depth=1)
    try:
        with pytest.raises(OSError, match="No space left"):
            for n in range(10):
                helper.call(step, n)
            helper.drain()
        assert ran == [0, 1], "nothing after the failed call ran"
        helper.drain()  # the error was handed over once; the helper is usable again
    finally:
        helper.close()
