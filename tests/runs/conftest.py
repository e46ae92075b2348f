"""Real assets with real backups, plans over them, and a driver that plays the worker in-process.

`drive()` calls the same services the Celery tasks call, one after another;
tests that need what only a real worker shows use tests.workers instead.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from incidents.models import Incident
from incidents.runs.models import RUN_FINISHED, RecoveryRun, StepRun, StepState
from incidents.runs.services import run_advance, run_cleanup_execute, run_start, run_verify_execute, step_execute
from inventory.engine import generate_key_file
from inventory.models import Asset, RecoveryPlan, RecoveryPoint, Vault
from inventory.services import backup_execute, backup_request, dependency_add, plan_save
from tests.factories import AssetFactory, IncidentFactory, RecoveryPolicyFactory, VaultFactory
from tests.workers import RedisServer, publishing_to


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    """A redis-server of the test's own on a spare port, which the test's tasks are published to."""
    server = RedisServer()
    server.start()
    with publishing_to(server.url):
        yield server
    server.stop()


@pytest.fixture(autouse=True)
def private_checkpoints(settings: Any, tmp_path: Path) -> Path:
    """Approvals export signed checkpoints; keep them out of the shared var/ other tests read."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_S3_BUCKET = None
    return settings.AUDIT_CHECKPOINT_DIR


@pytest.fixture
def keys(tmp_path: Path, settings: Any) -> Path:
    settings.VAULT_KEY_FILE = generate_key_file(tmp_path / "keys", key_id="run-key")
    settings.VAULT_KEY_ID = "run-key"
    settings.BACKUP_PROGRESS_SECONDS = 0
    settings.RUN_PROGRESS_SECONDS = 0
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return settings.VAULT_KEY_FILE


@pytest.fixture
def fs_vault(tmp_path: Path) -> Vault:
    return VaultFactory.create(name="run-vault", config={"path": str(tmp_path / "vault")}, region="eu-west-1")


def write_model(root: Path, *, weights: list[float], bias: float = 0.5, extra_mib: int = 1) -> None:
    """A tiny JSON linear model with golden inputs/outputs, plus some bulk to move."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.json").write_text(json.dumps({"weights": weights, "bias": bias}))
    inputs = [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]
    outputs = [sum(w * x for w, x in zip(weights, row, strict=True)) + bias for row in inputs]
    (root / "golden.json").write_text(json.dumps({"inputs": inputs, "outputs": outputs}))
    (root / "weights").mkdir(exist_ok=True)
    (root / "weights" / "shard.bin").write_bytes(bytes(range(256)) * 4096 * extra_mib)


def backed_up(asset: Asset) -> RecoveryPoint:
    backup = backup_request(asset=asset, by=None)
    outcome = backup_execute(backup_id=backup.pk)
    assert "ok" in outcome, outcome
    return RecoveryPoint.objects.get(backup=backup)


@pytest.fixture
def make_asset(tmp_path: Path, keys: Path, fs_vault: Vault) -> Callable[..., Asset]:
    def make(name: str, *, backup: bool = True, **fields: Any) -> Asset:
        source = tmp_path / "sources" / name
        write_model(source, weights=[0.25, -1.5])
        fields.setdefault("policy", RecoveryPolicyFactory.create(name=f"policy-{name}", rto_minutes=30, rpo_minutes=60))
        asset = AssetFactory.create(name=name, source_uri=str(source), vault=fs_vault, **fields)
        if backup:
            backed_up(asset)
        return asset

    return make


@pytest.fixture
def model(make_asset: Callable[..., Asset]) -> Asset:
    return make_asset("fraud-model", alternate_region="eu-central-1")


def make_plan(steps: list[dict[str, Any]], *, name: str = "test plan", by: Any = None) -> RecoveryPlan:
    return plan_save(data={"name": name, "steps": steps}, by=by)


@pytest.fixture
def simple_plan(model: Asset) -> RecoveryPlan:
    return make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": model.name},
            {"key": "verify", "kind": "verify", "asset": model.name, "after": ["restore"]},
            {"key": "golden", "kind": "smoke", "asset": model.name, "check": "golden-output", "after": ["verify"]},
        ]
    )


class Switch:
    healthy = False


@pytest.fixture
def local_check_targets(settings: Any) -> list[Any]:
    """Checks may reach this machine's test servers: said explicitly, as a deployment would list its own."""
    settings.CHECK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    return settings.CHECK_ALLOWED_NETWORKS


@pytest.fixture
def flaky_service(local_check_targets: list[Any]) -> Iterator[tuple[str, Switch]]:
    """An endpoint that answers 503 until the test flips it to healthy."""
    switch = Switch()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if switch.healthy else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health", switch
    server.shutdown()
    server.server_close()


def start_run(*, plan: RecoveryPlan, mode: str, by: Any, incident: Incident | None = None, **more: Any) -> RecoveryRun:
    """run_start for a fresh open incident of the kind the mode needs (a drill for drills)."""
    if incident is None:
        kind = "drill" if mode == "drill" else "real"
        incident = IncidentFactory.create(kind=kind, title=f"{kind} for {plan.name}", declared_by=by)
    return run_start(plan=plan, mode=mode, by=by, incident=incident, **more)


def drive(run: RecoveryRun, *, rounds: int = 50) -> RecoveryRun:
    """Play the worker: advance, run every queued step, verify and clean, until nothing moves."""
    for _ in range(rounds):
        run.refresh_from_db()
        if run.status in RUN_FINISHED and run.cleaned_at:
            return run
        run_advance(run_id=run.pk)
        for step in StepRun.objects.filter(run=run, state=StepState.QUEUED):
            step_execute(step_id=step.pk, worker="test")
        run.refresh_from_db()
        if run.status == "verifying":
            run_verify_execute(run_id=run.pk)
        run.refresh_from_db()
        if run.status in RUN_FINISHED:
            run_cleanup_execute(run_id=run.pk)
        elif run.status == "waiting_approval":
            return run
    run.refresh_from_db()
    return run


__all__ = ["backed_up", "dependency_add", "drive", "make_plan", "start_run", "write_model"]
