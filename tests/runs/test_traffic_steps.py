"""Failover, failback and degrade steps move real traffic through a real HAProxy, and prove it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from incidents.runs.drivers.services import endpoint_route_set
from incidents.runs.models import StepState
from incidents.runs.services import step_approve
from tests.runs.conftest import drive, make_plan, start_run
from tests.traffic.conftest import lab_factory, needs_haproxy

pytestmark = [pytest.mark.django_db, needs_haproxy, pytest.mark.usefixtures("loopback_allowed")]


def answered_by(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return str(json.loads(response.read())["backend"])


@pytest.fixture
def haproxy_lab():
    yield from lab_factory()


@pytest.fixture
def endpoint(make_asset, haproxy_lab):
    def make(**lab_kw: Any):
        lab = haproxy_lab(**lab_kw)
        asset = make_asset("scoring-eu", kind="endpoint", alternate_region="eu-central-1", backup=False)
        asset.policy.failover_quorum = 2  # two on-call engineers approve a failover
        asset.policy.save()
        endpoint_route_set(asset=asset, driver="haproxy", config=lab.route_config())
        return asset, lab

    return make


def plan_for(asset, kind: str = "failover", **extra: Any):
    return make_plan([{"key": "switch", "kind": kind, "asset": asset.name, **extra}], name=f"{kind} {asset.name}")


def approve_all(run, *people) -> None:
    step = run.steps.get(key="switch")
    for person in people:
        step_approve(step=step, by=person, comment="alternate is healthy")


def test_failover_moves_traffic_and_failback_brings_it_back(endpoint, commander, oncall, oncall2) -> None:
    asset, lab = endpoint()
    plan = plan_for(asset)
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert run.status == "waiting_approval"
    assert answered_by(lab.endpoint.url) == "primary", "nothing moves before the approval"
    approve_all(run, oncall, oncall2)
    run = drive(run)
    step = run.steps.get(key="switch")
    assert run.status == "succeeded", (step.error, run.error)
    ev = step.evidence
    assert (ev["driver"], ev["route_before"], ev["route_after"], ev["took"]) == (
        "haproxy",
        "primary",
        "alternate",
        True,
    )
    assert ev["smoke_through_route"]["ok"] and {a["backend"] for a in ev["smoke_through_route"]["answers"]} == {
        "alternate"
    }
    assert "be_scoring" in ev["show_servers_state"]
    assert {answered_by(lab.endpoint.url) for _ in range(5)} == {"alternate"}
    asset.refresh_from_db()
    assert asset.serving == "alternate"

    back = drive(start_run(plan=plan, mode="failback", by=commander))
    approve_all(back, oncall, oncall2)
    back = drive(back)
    assert back.status == "succeeded"
    assert back.steps.get(key="switch").evidence["route_after"] == "primary"
    assert {answered_by(lab.endpoint.url) for _ in range(5)} == {"primary"}


def test_degrade_serves_the_fallback(endpoint, commander) -> None:
    asset, lab = endpoint()
    run = drive(start_run(plan=plan_for(asset, "degrade"), mode="recovery", by=commander))
    assert run.status == "succeeded"
    assert run.steps.get(key="switch").evidence["smoke_through_route"]["expected_backend"] == "fallback"
    assert {answered_by(lab.endpoint.url) for _ in range(5)} == {"fallback"}


def test_a_drill_checks_only_and_never_touches_production_routing(endpoint, commander, oncall, oncall2) -> None:
    asset, lab = endpoint()
    before = lab.driver.states()[0]
    run = drive(start_run(plan=plan_for(asset), mode="drill", by=commander))
    approve_all(run, oncall, oncall2)
    run = drive(run)
    assert run.status == "succeeded"
    ev = run.steps.get(key="switch").evidence
    assert ev["drill"] and ev["production_routing"] == "untouched (drill: check only)" and ev["target_ready"]
    assert lab.driver.states()[0] == before
    assert answered_by(lab.endpoint.url) == "primary"


def test_a_down_alternate_is_refused_and_nothing_moves(endpoint, commander, oncall, oncall2) -> None:
    asset, lab = endpoint(down=("alternate",))
    run = drive(start_run(plan=plan_for(asset), mode="recovery", by=commander))
    approve_all(run, oncall, oncall2)
    run = drive(run)
    step = run.steps.get(key="switch")
    assert run.status == "failed" and step.state == StepState.FAILED and step.error_code == "target_unhealthy"
    assert "Force the step" in step.error
    assert answered_by(lab.endpoint.url) == "primary"
    asset.refresh_from_db()
    assert asset.serving == "primary"


def test_forced_with_approval_passes_the_health_gate(endpoint, commander, oncall, oncall2) -> None:
    asset, _ = endpoint(down=("alternate",))
    run = drive(start_run(plan=plan_for(asset, force=True), mode="recovery", by=commander))
    approve_all(run, oncall, oncall2)
    step = drive(run).steps.get(key="switch")
    assert (
        step.evidence["forced"] is True and "set server be_scoring/alternate state ready" in step.evidence["commands"]
    )
    assert step.error_code == "switch_not_taken", "a forced switch to a dead backend is not reported as a success"


def test_force_needs_an_approval_in_the_plan(model) -> None:
    with pytest.raises(Exception, match="force switches to a route that fails its health check"):
        make_plan([{"key": "d", "kind": "degrade", "asset": model.name, "force": True}])


def test_record_only_says_nothing_was_switched(make_asset, commander) -> None:
    asset = make_asset("legacy-api", kind="endpoint", backup=False)
    run = drive(start_run(plan=plan_for(asset, "degrade"), mode="recovery", by=commander))
    ev = run.steps.get(key="switch").evidence
    assert ev["driver"] == "record_only" and ev["traffic"] == "recorded, nothing switched"
    assert ev["switched"] is False


def test_the_certificate_reads_the_route_again_and_a_route_moved_back_is_a_partial_failure(
    endpoint, commander, oncall, oncall2
) -> None:
    from incidents.runs.services import step_execute

    asset, lab = endpoint()
    plan = plan_for(asset)
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    approve_all(run, oncall, oncall2)
    run = drive(run)
    checks = {c["check"]: c for c in json.loads(run.certificate.document)["certificate"]["assets"][0]["checks"]}
    assert (
        checks["route_at_certificate"]["status"] == "passed"
        and checks["route_at_certificate"]["route_now"] == "alternate"
    )

    lab.driver.switch(to="primary", key="reset")
    second = drive(start_run(plan=plan, mode="recovery", by=commander))
    approve_all(second, oncall, oncall2)
    step = second.steps.get(key="switch")
    step_execute(step_id=step.pk, worker="test")  # traffic moves to the alternate...
    lab.driver.switch(to="primary", key="someone-else")  # ...and someone moves it back before the run is verified
    second = drive(second)
    assert second.status == "partially_failed"
    assert "Route of scoring-eu at the end of the run: primary serves now (expected alternate)" in second.error
    assert second.certificate.verdict == "not proven"


def test_the_approvals_page_says_how_traffic_will_move(endpoint, make_asset, commander, oncall, client) -> None:
    asset, _ = endpoint()
    drive(start_run(plan=plan_for(asset), mode="recovery", by=commander))
    legacy = make_asset("legacy-api", kind="endpoint", alternate_region="eu-central-1", backup=False)
    drive(start_run(plan=plan_for(legacy), mode="recovery", by=commander))
    client.force_login(oncall)
    page = client.get("/approvals/").content.decode()
    assert "traffic moves through haproxy" in page
    assert "record only: recorded, nothing switched" in page
