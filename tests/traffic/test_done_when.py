"""Issue 15's "Done when", end to end on the demo wiring, with nothing mocked.

A commander starts a recovery run (restore the demo model, verify it, fail the
demo endpoint over); two on-call engineers approve the failover through the API
with a second factor; a client loops through the demo's real HAProxy the whole
time. No request fails, the answers move from the primary to the alternate
server, the step's smoke check was answered by the alternate, the restored model
passes its golden set, and the exported certificate verifies offline with the
public key alone (and not after a one-byte change).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from dr_portal.audit.checkpoints import public_key_pem
from incidents.runs.models import RecoveryRun
from inventory.engine import generate_key_file
from tests.factories import AssetFactory, IncidentFactory, RecoveryPolicyFactory, VaultFactory
from tests.runs.conftest import backed_up, drive, make_plan
from tests.traffic.conftest import needs_haproxy

pytestmark = [pytest.mark.django_db, needs_haproxy]
ROOT = Path(__file__).resolve().parents[2]


class Client:
    """Loops requests through HAProxy, counting failures and noting which backend answered each one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=5) as answer:  # noqa: S310 - loopback
                    self.answers.append(json.loads(answer.read())["backend"])
            except Exception as exc:  # every kind of failure is counted
                self.failures.append(repr(exc))
            time.sleep(0.01)

    def start(self) -> Client:
        self._thread.start()
        return self

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 15
        while len(self.answers) + len(self.failures) < count:
            assert time.monotonic() < deadline, "the client got no answers"
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def demo(settings: Any, loopback_allowed: None) -> Iterator[dict[str, Any]]:
    """The demo's assets wired by `traffic_demo`, and the Procfile's traffic process running them."""
    # A short directory: the HAProxy admin socket lives in it and a unix socket path must stay short.
    var = Path(tempfile.mkdtemp(prefix="dw-"))
    settings.VAR_DIR = var / "var"
    settings.VAR_DIR.mkdir()
    settings.VAULT_KEY_FILE = generate_key_file(var / "keys", key_id="done-key")
    settings.VAULT_KEY_ID = "done-key"
    settings.BACKUP_PROGRESS_SECONDS = settings.RUN_PROGRESS_SECONDS = 0
    settings.AUDIT_CHECKPOINT_DIR = var / "checkpoints"
    settings.AUDIT_CHECKPOINT_S3_BUCKET = None
    vault = VaultFactory.create(name="demo-vault", config={"path": str(var / "vault")}, region="eu-west-1")
    policy = RecoveryPolicyFactory.create(name="tier-1", rto_minutes=30, rpo_minutes=60, failover_quorum=2)
    endpoint = AssetFactory.create(
        name="fraud-scoring-eu", kind="endpoint", alternate_region="eu-central-1", policy=policy, vault=vault
    )
    model = AssetFactory.create(
        name="fraud-detection-model", source_uri=str(var / "model-src"), policy=policy, vault=vault
    )
    call_command("traffic_demo")  # writes the tiny ONNX model, its golden set and the HAProxy wiring
    backed_up(model)  # the point the run restores holds the model the golden set checks
    spec = json.loads((settings.VAR_DIR / "traffic" / "stack.json").read_text())
    stack = subprocess.Popen(
        [sys.executable, "-m", "incidents.runs.drivers.demo_stack", str(settings.VAR_DIR / "traffic" / "stack.json")],
        cwd=ROOT,
        # As `make run` does (there through DEBUG in VAR_DIR/.env): the stack may use its own admin socket.
        env={**os.environ, "CHECK_ALLOWED_SOCKET_DIRS": str(settings.VAR_DIR / "traffic")},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stack.stdout is not None
        line = stack.stdout.readline()
        assert "through HAProxy" in line and "(primary serving)" in line, line
        yield {"endpoint": endpoint, "model": model, "url": f"http://127.0.0.1:{spec['endpoints'][0]['port']}/predict"}
    finally:
        stack.send_signal(signal.SIGTERM)
        assert stack.wait(timeout=10) == 0
        shutil.rmtree(var, ignore_errors=True)


def answered_by(url: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                return str(json.loads(answer.read())["backend"])
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def certificate_verify(document: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """The command as an auditor runs it: its own process, given only the file and the public key."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AUDIT_SIGNING_KEY_FILE")}
    return subprocess.run(
        [sys.executable, "manage.py", "certificate_verify", str(document), "--public-key", str(key)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_commanders_failover_moves_real_traffic_and_the_certificate_proves_it(
    demo, commander, oncall, oncall2, client_for, tmp_path
) -> None:
    endpoint, model, url = demo["endpoint"], demo["model"], demo["url"]
    assert answered_by(url) == "primary"
    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "verify", "kind": "verify", "asset": model.name, "after": ["restore"]},
            {"key": "failover", "kind": "failover", "asset": endpoint.name, "after": ["verify"]},
        ],
        name="fail fraud scoring over",
    )
    incident = IncidentFactory.create(kind="real", title="eu-west-1 inference outage", declared_by=commander)
    started = client_for(commander, mfa=True).post(
        "/api/v1/runs/",
        {"plan": str(plan.public_id), "mode": "recovery", "incident": str(incident.public_id)},
        content_type="application/json",
    )
    assert started.status_code == 201, started.json()
    run = drive(RecoveryRun.objects.get(public_id=started.json()["id"]))
    assert run.status == "waiting_approval", run.error
    step = run.steps.get(key="failover")
    assert answered_by(url) == "primary", "nothing moves before the approvals"

    client = Client(url).start()
    try:
        client.wait_for(20)
        approve = f"/api/v1/runs/steps/{step.public_id}/approve/"
        first = client_for(oncall, mfa=True).post(
            approve, {"comment": "alternate is healthy"}, content_type="application/json"
        )
        assert first.status_code == 200 and first.json()["state"] == "waiting_approval", first.json()
        second = client_for(oncall2, mfa=True).post(
            approve, {"comment": "region checked"}, content_type="application/json"
        )
        assert second.status_code == 200 and second.json()["state"] == "queued", second.json()
        run = drive(run)
        seen = len(client.answers)
        client.wait_for(seen + len(client.failures) + 20)
    finally:
        client.stop()

    step.refresh_from_db()
    assert run.status == "succeeded", (run.error, step.error)
    assert client.failures == [], f"{len(client.failures)} client requests failed during the failover"
    answers = client.answers
    assert answers[0] == "primary" and answers[-20:] == ["alternate"] * 20, answers
    switched_at = answers.index("alternate")
    assert set(answers[:switched_at]) == {"primary"} and set(answers[switched_at:]) == {"alternate"}, (
        "traffic moved once, from the primary to the alternate"
    )

    evidence = step.evidence
    assert (evidence["driver"], evidence["route_before"], evidence["route_after"], evidence["took"]) == (
        "haproxy",
        "primary",
        "alternate",
        True,
    )
    smoke = evidence["smoke_through_route"]
    assert smoke["ok"] and smoke["expected_backend"] == "alternate"
    assert smoke["answers"] and {a["backend"] for a in smoke["answers"]} == {"alternate"}
    endpoint.refresh_from_db()
    assert endpoint.serving == "alternate"

    cert = run.certificate
    body = json.loads(cert.document)["certificate"]
    assert body["verdict"] == "proven", body
    checks = {a["asset"]: {c["check"]: c for c in a["checks"]} for a in body["assets"]}
    golden = checks[model.name]["golden_outputs"]
    assert golden["status"] == "passed" and golden["max_abs_error"] < 1e-4, golden
    assert checks[model.name]["hashes"]["status"] == "passed"
    route, now = checks[endpoint.name]["route"], checks[endpoint.name]["route_at_certificate"]
    assert route["status"] == "passed" and route["route_now"] == "alternate", route
    assert {a["backend"] for a in route["smoke_through_route"]["answers"]} == {"alternate"}
    assert now["status"] == "passed" and now["route_now"] == "alternate", "read again from HAProxy at signing"

    download = client_for(commander).get(f"/runs/{run.public_id}/certificate.json")
    assert download.status_code == 200
    document, key = tmp_path / "certificate.json", tmp_path / "public.pem"
    document.write_bytes(download.content)
    key.write_text(public_key_pem())
    verified = certificate_verify(document, key)
    assert verified.returncode == 0, verified.stderr
    assert "Signature valid" in verified.stdout and "verdict: proven" in verified.stdout

    raw = bytearray(download.content)
    at = raw.index(b'"alternate"') + 1
    raw[at] = ord("A")  # one byte: the route the certificate claims
    document.write_bytes(bytes(raw))
    altered = certificate_verify(document, key)
    assert altered.returncode == 1 and "NOT verified" in altered.stderr, (altered.stdout, altered.stderr)
