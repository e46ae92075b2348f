"""The demo's MLflow model registry: two local ``mlflow server`` processes from ``.venv-mlflow``.

``make run`` installs MLflow into its own virtualenv first (``make mlflow-venv``). When it is there,
the demo runs a source registry holding a tiny fraud model (two versions made here with
NumPy/ONNX, no download; aliases, a stage, tags, run params and metrics) and an empty
drill registry that drills restore into. Both listen on loopback only, with a SQLite
backend and a local artifact store under ``VAR_DIR/mlflow``. Without the virtualenv (the demo
commands run by hand) the demo still starts and says the registry asset is unavailable.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from inventory.connectors.mlflow_registry import ARTIFACT_DIR, experiment_id, get_model
from inventory.connectors.mlflow_rest import MlflowRest, proxy_path

ASSET = "fraud-model-registry"
MODEL = "fraud-detection"
UNAVAILABLE = "unavailable: MLflow is not installed (run make mlflow-venv, then make run again)"


def mlflow_binary(base_dir: Path) -> Path | None:
    """The ``mlflow`` command of the project's MLflow virtualenv, if it was installed."""
    found = base_dir / ".venv-mlflow" / "bin" / "mlflow"
    return found if found.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class DemoRegistry:
    """Where the demo's two registries live; kept in ``VAR_DIR/mlflow/demo.json`` between runs."""

    workdir: Path
    source_port: int
    drill_port: int
    installed: bool

    @property
    def source_url(self) -> str:
        return f"http://127.0.0.1:{self.source_port}"

    @property
    def drill_url(self) -> str:
        return f"http://127.0.0.1:{self.drill_port}"

    def backend_store(self, role: str) -> str:
        """The ``--backend-store-uri`` that ``start_server`` gives the ``role`` ("source" or "drill") server."""
        return f"sqlite:///{self.workdir / role / 'mlflow.db'}"

    def connector_config(self) -> dict[str, Any]:
        """The registry's asset: both servers run on this machine, so their artifact folders are read
        and written directly (``start_server``'s ``--artifacts-destination``), not through the servers."""
        folder = self.workdir.resolve()
        return {
            "tracking_uri": self.source_url,
            "drill_tracking_uri": self.drill_url,
            "drill_backend_store_uri": self.backend_store("drill"),
            "models": [MODEL],
            "artifacts_path": str(folder / "source" / "artifacts"),
            "drill_artifacts_path": str(folder / "drill" / "artifacts"),
        }

    @classmethod
    def prepare(cls, var_dir: Path, base_dir: Path) -> DemoRegistry:
        """Choose the ports (the previous ones while they are free) and record them for ``serve``."""
        workdir = var_dir / "mlflow"
        workdir.mkdir(parents=True, exist_ok=True)
        spec = workdir / "demo.json"
        old = json.loads(spec.read_text()) if spec.exists() else {}
        ports: list[int] = []
        for role in ("source_port", "drill_port"):
            port = old.get(role)
            while not isinstance(port, int) or not _port_free(port) or port in ports:
                port = free_port()
            ports.append(port)
        found = cls(workdir, ports[0], ports[1], mlflow_binary(base_dir) is not None)
        spec.write_text(json.dumps({"source_port": found.source_port, "drill_port": found.drill_port}))
        return found

    @classmethod
    def load(cls, var_dir: Path, base_dir: Path) -> DemoRegistry:
        spec = json.loads((var_dir / "mlflow" / "demo.json").read_text())
        installed = mlflow_binary(base_dir) is not None
        return cls(var_dir / "mlflow", spec["source_port"], spec["drill_port"], installed)


def start_server(binary: Path, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """``mlflow server`` on 127.0.0.1:port in its own process group (it forks workers)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    # The registry needs no server-side jobs; with them on, each server keeps a pool of idle job
    # consumers (10 processes and about 1.1 GiB of memory against 2 and 0.36 GiB, measured).
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    log = (workdir / "server.log").open("ab")
    try:
        return subprocess.Popen(
            [
                str(binary),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(workdir / "artifacts"),
                "--serve-artifacts",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    finally:
        log.close()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the MLflow server for {url} exited with {proc.returncode} (see its server.log)")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - loopback demo server
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the MLflow server {url} did not answer within {timeout:.0f} s")


def stop_servers(procs: list[subprocess.Popen[bytes]], grace: float = 3.0) -> None:
    """Stop every server's process group at once; what is still up after ``grace`` seconds is killed.

    Quick, because a process manager (honcho) kills this process too if it takes long.
    """
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _register_version(api: MlflowRest, exp: str, files: Path, *, params: dict[str, str], auc: float) -> str:
    run = api.post("/runs/create", {"experiment_id": exp, "run_name": f"train-{uuid.uuid4().hex[:6]}"})["run"]["info"]
    api.post(
        "/runs/log-batch",
        {
            "run_id": run["run_id"],
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "metrics": [{"key": "auc", "value": auc, "timestamp": int(time.time() * 1000), "step": 0}],
        },
    )
    root = proxy_path(run["artifact_uri"]) + "/" + ARTIFACT_DIR
    for path in sorted(p for p in files.iterdir() if p.is_file()):
        api.upload(f"{root}/{path.name}", path.read_bytes())
    api.post("/runs/update", {"run_id": run["run_id"], "status": "FINISHED", "end_time": int(time.time() * 1000)})
    created = api.post(
        "/model-versions/create",
        {
            "name": MODEL,
            "source": f"{run['artifact_uri']}/{ARTIFACT_DIR}",
            "run_id": run["run_id"],
            "description": f"linear scorer trained with {params}",
        },
    )
    return str(created["model_version"]["version"])


def seed(api: MlflowRest, workdir: Path) -> bool:
    """Register the demo's fraud model (two versions) unless it is there; True when it was added."""
    from incidents.runs.golden.make_models import make_models

    if get_model(api, MODEL) is not None:
        return False
    api.post(
        "/registered-models/create",
        {
            "name": MODEL,
            "description": "Card fraud scorer served by fraud-scoring-eu and fraud-scoring-us.",
            "tags": [
                {"key": "owner", "value": "risk-ml"},
                {"key": "team", "value": "risk-ml"},
                {"key": "tier", "value": "0"},
            ],
        },
    )
    exp = experiment_id(api, "fraud-training")
    versions = []
    for seed_value, depth, auc in ((7, "4", 0.91), (8, "6", 0.93)):
        files = workdir / "models" / f"seed-{seed_value}"
        make_models(files, seed=seed_value)
        (files / "MLmodel").write_text(
            "artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.17\n"
        )
        versions.append(
            _register_version(api, exp, files, params={"max_depth": depth, "seed": str(seed_value)}, auc=auc)
        )
    api.post(
        "/model-versions/transition-stage",
        {"name": MODEL, "version": versions[1], "stage": "Production", "archive_existing_versions": False},
    )
    api.post("/registered-models/alias", {"name": MODEL, "alias": "champion", "version": versions[1]})
    api.post("/registered-models/alias", {"name": MODEL, "alias": "challenger", "version": versions[0]})
    api.post("/model-versions/set-tag", {"name": MODEL, "version": versions[1], "key": "validated", "value": "yes"})
    return True


def apply_availability(registry: DemoRegistry) -> bool:
    """Give the registry asset and its consistency group their tier's policy when MLflow is installed;
    else say on each that it is unavailable.

    Without MLflow they keep no policy (so nothing schedules a backup that cannot run) and their
    titles say why. Returns whether the registry is available.
    """
    from django.utils import timezone

    from inventory.demo_group import ALL_ESTATE, GROUP
    from inventory.models import Asset, RecoveryPoint
    from inventory.services import asset_update, policy_default_for_tier

    for asset in Asset.objects.filter(name__in=(ASSET, GROUP)).order_by("name"):
        title = next(item.title for item in ALL_ESTATE if item.name == asset.name)
        if registry.installed:
            fields: dict[str, Any] = {"title": title, "policy": policy_default_for_tier(tier=asset.tier)}
        else:
            fields = {"title": f"{title} — {UNAVAILABLE}"[:200], "policy": None}
        asset = asset_update(asset=asset, by=None, fields=fields)
        if registry.installed and not RecoveryPoint.objects.good().filter(asset=asset).exists():
            # Beat must not try before the server is up; `mlflow_demo` queues the first backups when it answers.
            Asset.objects.filter(pk=asset.pk).update(next_backup_at=timezone.now() + timedelta(minutes=10))
    return registry.installed


def queue_first_backup() -> bool:
    """Queue the first backups of the registry asset and its consistency group once the server answers
    (as inventory_demo does for the others); True when any was queued."""
    from inventory.demo_group import GROUP
    from inventory.models import Asset, RecoveryPoint
    from inventory.services import backup_request

    queued = False
    for asset in Asset.objects.filter(name__in=(ASSET, GROUP)).order_by("-name"):  # the registry first
        if asset.policy_id is None or RecoveryPoint.objects.good().filter(asset=asset).exists():
            continue
        backup_request(asset=asset, by=None)  # or the one already queued
        queued = True
    return queued
