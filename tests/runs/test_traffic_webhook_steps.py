"""Steps through the signed webhook driver, against a local receiver and a local inference server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from incidents.runs.drivers.inference_server import InferenceServer
from incidents.runs.drivers.services import endpoint_route_set
from tests.runs.conftest import drive, make_plan, start_run
from tests.traffic.receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]
SECRET = "hook-secret-for-tests"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(SECRET.encode())
    yield server
    server.close()


@pytest.fixture
def fallback_server() -> Iterator[InferenceServer]:
    server = InferenceServer("fallback").start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(make_asset, receiver, monkeypatch):
    monkeypatch.setenv("DRP_TEST_TRAFFIC_SECRET", SECRET)
    asset = make_asset("chat-endpoint", kind="endpoint", backup=False)

    def configure(smoke_url: str) -> None:
        config = {"url": receiver.url, "secret_env": "DRP_TEST_TRAFFIC_SECRET", "backoff": 0.01, "smoke_url": smoke_url}
        endpoint_route_set(asset=asset, driver="webhook", config=config)

    return asset, configure


def degrade_plan(asset):
    return make_plan([{"key": "switch", "kind": "degrade", "asset": asset.name}], name=f"degrade {asset.name}")


def test_degrade_through_the_webhook_with_a_smoke_check_through_the_route(
    endpoint, receiver, fallback_server, commander
) -> None:
    asset, configure = endpoint
    configure(f"http://127.0.0.1:{fallback_server.port}/predict")
    receiver.script = ["500"]  # the controller hiccups once: retried with the same key
    run = drive(start_run(plan=degrade_plan(asset), mode="recovery", by=commander))
    step = run.steps.get(key="switch")
    assert run.status == "succeeded", step.error
    assert step.evidence["driver"] == "webhook" and step.evidence["route_after"] == "fallback"
    assert step.evidence["idempotency_key"] == f"{step.public_id}:fallback"
    assert receiver.route == "fallback" and list(receiver.applied) == [f"{step.public_id}:fallback"]
    assert step.evidence["smoke_through_route"]["ok"]


def test_a_smoke_check_answered_by_the_wrong_backend_fails_the_step(endpoint, receiver, commander) -> None:
    asset, configure = endpoint
    primary = InferenceServer("primary").start()  # the route still reaches the primary: the switch did not work
    try:
        configure(f"http://127.0.0.1:{primary.port}/predict")
        run = drive(start_run(plan=degrade_plan(asset), mode="recovery", by=commander))
    finally:
        primary.stop()
    step = run.steps.get(key="switch")
    assert step.error_code == "smoke_failed" and "not answered by fallback" in step.error
    assert {a["backend"] for a in step.evidence["smoke_through_route"]["answers"]} == {"primary"}


def test_a_drill_only_asks_the_controller_to_check(endpoint, receiver, fallback_server, commander) -> None:
    asset, configure = endpoint
    configure(f"http://127.0.0.1:{fallback_server.port}/predict")
    run = drive(start_run(plan=degrade_plan(asset), mode="drill", by=commander))
    step = run.steps.get(key="switch")
    assert run.status == "succeeded" and step.evidence["drill"] is True
    assert {c["action"] for c in receiver.calls} == {"check"} and receiver.route == "primary"


def test_a_missing_secret_fails_the_step_with_a_reason(endpoint, commander, monkeypatch) -> None:
    asset, configure = endpoint
    configure("http://127.0.0.1:9/predict")
    monkeypatch.delenv("DRP_TEST_TRAFFIC_SECRET")
    run = drive(start_run(plan=degrade_plan(asset), mode="recovery", by=commander))
    step = run.steps.get(key="switch")
    assert step.error_code == "secret_missing" and "DRP_TEST_TRAFFIC_SECRET is not set" in step.error
    asset.refresh_from_db()
    assert asset.serving == "primary"
