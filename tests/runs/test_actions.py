"""Cancel, skip, retry, manual steps, waits, smoke checks and the queue, through the services."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from incidents.runs.models import RunLock, StepState
from incidents.runs.selectors import run_queue_place
from incidents.runs.services import (
    RunRefused,
    run_advance,
    run_cancel,
    step_execute,
    step_mark_done,
    step_retry,
    step_skip,
)
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def health_server(local_check_targets):
    """A tiny HTTP server on 127.0.0.1: /ok answers 200 with JSON, anything else 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/ok"
            body = json.dumps({"status": "ok" if ok else "down", "model": {"version": 7}}).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_smoke_check_compares_status_and_json(health_server, commander) -> None:
    plan = make_plan(
        [
            {"key": "up", "kind": "smoke", "url": f"{health_server}/ok", "expect_json": {"model": {"version": 7}}},
            {"key": "down", "kind": "smoke", "url": f"{health_server}/broken", "critical": False},
        ]
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    up, down = run.steps.get(key="up"), run.steps.get(key="down")
    assert up.state == StepState.SUCCEEDED and up.evidence["status"] == 200
    assert down.state == StepState.FAILED and "answered 503, expected 200" in down.error
    assert run.status == "partially_failed", "an optional step failed; the run still verified"


def test_golden_output_check_catches_a_model_that_came_back_wrong(model, commander) -> None:
    plan = make_plan([{"key": "golden", "kind": "smoke", "asset": model.name, "check": "golden-output"}])
    (Path(model.source_uri) / "model.json").write_text(json.dumps({"weights": [1.0, 1.0], "bias": 0}))
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    step = run.steps.get()
    assert step.state == StepState.FAILED and "differ from the golden outputs" in step.error


def test_cancel_stops_the_run_and_a_drill_leaves_no_target(simple_plan, commander, settings) -> None:
    run = start_run(plan=simple_plan, mode="drill", by=commander)
    run_advance(run_id=run.pk)
    run = run_cancel(run=run, by=commander, reason="wrong plan")
    step = run.steps.get(key="restore")
    assert step.state == StepState.CANCELLED
    assert "nothing to do" in step_execute(step_id=step.pk, worker="late")
    run = drive(run)
    assert run.status == "cancelled" and run.cleaned_at is not None
    assert not (settings.VAR_DIR / "drills" / str(run.public_id)).exists()
    with pytest.raises(RunRefused):
        run_cancel(run=run, by=commander, reason="again")


def test_skip_needs_a_reason_and_a_skipped_critical_step_makes_the_run_partial(simple_plan, commander) -> None:
    run = start_run(plan=simple_plan, mode="drill", by=commander)
    run_advance(run_id=run.pk)
    golden = run.steps.get(key="golden")
    with pytest.raises(RunRefused, match="Say why"):
        step_skip(step=golden, by=commander, reason="")
    step_skip(step=golden, by=commander, reason="no golden data for this model yet")
    run = drive(run)
    assert run.status == "partially_failed"
    assert run.steps.get(key="golden").skip_reason == "no golden data for this model yet"


def test_retrying_the_failed_step_reopens_the_run_and_finishes_it(model, commander) -> None:
    plan = make_plan([{"key": "golden", "kind": "smoke", "asset": model.name, "check": "golden-output"}])
    good = (Path(model.source_uri) / "model.json").read_text()
    (Path(model.source_uri) / "model.json").write_text(json.dumps({"weights": [1.0, 1.0], "bias": 0}))
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert run.status == "failed"
    (Path(model.source_uri) / "model.json").write_text(good)  # someone fixed it by hand
    step_retry(step=run.steps.get(), by=commander)
    run = drive(run)
    assert run.status == "succeeded"
    assert run.steps.get().attempt == 2


def test_manual_step_waits_for_a_person(commander, oncall) -> None:
    plan = make_plan([{"key": "dns", "kind": "manual", "instructions": "Lower the DNS TTL to 60 s."}])
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    step = run.steps.get()
    assert step.state == StepState.RUNNING and step.evidence["instructions"].startswith("Lower")
    with pytest.raises(RunRefused, match="Say what was done"):
        step_mark_done(step=step, by=oncall, note="")
    step_mark_done(step=step, by=oncall, note="TTL is 60 s now")
    assert drive(run).status == "succeeded"


def test_second_run_on_the_same_asset_waits_its_turn(simple_plan, commander) -> None:
    first = start_run(plan=simple_plan, mode="drill", by=commander)
    second = start_run(plan=simple_plan, mode="drill", by=commander)
    run_advance(run_id=first.pk)
    assert "waiting for its assets" in run_advance(run_id=second.pk)
    second.refresh_from_db()
    place = run_queue_place(run=second)
    assert place is not None and place.position == 2 and place.ahead == [first]
    assert RunLock.objects.filter(run=first).count() == 1
    drive(first)
    assert drive(second).status == "succeeded"
