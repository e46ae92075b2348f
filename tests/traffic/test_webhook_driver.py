"""The signed webhook driver against a local receiver that checks the HMAC and idempotency keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from incidents.runs.drivers.base import DriverRefused, DriverUnreachable
from incidents.runs.drivers.webhook import WebhookDriver
from tests.traffic.receiver import Receiver

SECRET = b"shared-test-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(SECRET)
    yield server
    server.close()


def driver(receiver: Receiver, *, secret: bytes = SECRET, **kw: float) -> WebhookDriver:
    return WebhookDriver(url=receiver.url, secret=secret, endpoint="scoring", backoff=0.05, **kw)  # type: ignore[arg-type]


def test_a_signed_switch_succeeds_on_the_expected_answer(receiver: Receiver) -> None:
    result = driver(receiver).switch(to="alternate", key="step-1:alternate")
    assert (result.route_before, result.route_after, result.took) == ("primary", "alternate", True)
    assert receiver.route == "alternate" and all(c["signed"] for c in receiver.calls)


def test_500_is_retried_with_the_same_idempotency_key(receiver: Receiver) -> None:
    receiver.script = ["500", "500", "ok"]
    result = driver(receiver).switch(to="fallback", key="step-2:fallback")
    assert result.took
    switches = [c for c in receiver.calls if c["action"] == "switch"]
    assert [c["key"] for c in switches] == ["step-2:fallback"] * 3
    assert result.evidence["attempts"][-3:] == ["500", "500", "200"]


def test_500_every_time_fails_after_the_retries(receiver: Receiver) -> None:
    receiver.script = ["500"] * 10
    with pytest.raises(DriverUnreachable, match="after 3 attempts"):
        driver(receiver, retries=2).switch(to="alternate", key="k")
    assert receiver.route == "primary"


def test_a_timeout_is_retried_and_the_key_makes_the_retry_harmless(receiver: Receiver) -> None:
    receiver.script = ["sleep", "ok"]
    result = driver(receiver, timeout=0.5).switch(to="alternate", key="step-3:alternate")
    assert result.took and result.evidence["attempts"][1].startswith("no answer")
    assert list(receiver.applied) == ["step-3:alternate"]  # applied once though sent twice


def test_a_wrong_signature_is_refused_without_retrying(receiver: Receiver) -> None:
    with pytest.raises(DriverRefused, match="answered 401"):
        driver(receiver, secret=b"wrong").current_route()
    assert len(receiver.calls) == 1


def test_an_unreachable_controller_says_nothing_switched() -> None:
    lonely = WebhookDriver(
        url="http://127.0.0.1:9/x", secret=SECRET, endpoint="e", retries=1, backoff=0.01, timeout=0.5
    )
    with pytest.raises(DriverUnreachable, match="nothing is known to have switched"):
        lonely.switch(to="alternate", key="k")
