"""The demo's MLflow registry: real servers from .venv-mlflow, the tiny fraud model, and the asset's state."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from inventory import demo_mlflow
from inventory.connectors import get_connector
from inventory.connectors.mlflow_registry import model_names
from inventory.connectors.mlflow_rest import MlflowRest
from tests.inventory.connectors.conftest import Engine


def _group_of(proc_dir: Path) -> int | None:
    """The process group of a /proc entry, None once the process is gone."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        # Fields after the command name, which is in parentheses and may hold spaces: state, ppid, pgrp.
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[2])
    return None


@pytest.fixture
def demo_var(settings: Any, tmp_path: Path) -> None:
    """The demo's VAR_DIR is where connectors may read, as SOURCE_ROOTS is by default."""
    settings.SOURCE_ROOTS = [tmp_path / "var"]


@pytest.mark.servers
@pytest.mark.usefixtures("loopback_allowed")  # the demo runs with DEBUG on, where the outbound guard allows loopback
def test_the_demo_registry_is_seeded_once_backed_up_and_restored_into_the_drill_registry(
    engine: Engine, tmp_path: Path, demo_var: None
) -> None:
    binary = demo_mlflow.mlflow_binary(settings.BASE_DIR)
    if binary is None:
        pytest.skip("mlflow is not installed: run `make mlflow-venv`")
    registry = demo_mlflow.DemoRegistry.prepare(tmp_path / "var", settings.BASE_DIR)
    again = demo_mlflow.DemoRegistry.load(tmp_path / "var", settings.BASE_DIR)
    assert (again.source_port, again.drill_port) == (registry.source_port, registry.drill_port)
    servers = [
        demo_mlflow.start_server(binary, registry.workdir / "source", registry.source_port),
        demo_mlflow.start_server(binary, registry.workdir / "drill", registry.drill_port),
    ]
    try:
        demo_mlflow.wait_ready(registry.source_url, servers[0])
        demo_mlflow.wait_ready(registry.drill_url, servers[1])
        # No idle job consumers (they cost about 1 GiB a server): the server and its one worker.
        for proc in servers:
            group = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _group_of(p) == proc.pid]
            assert len(group) <= 3, f"{len(group)} processes in the MLflow server's group"
        source = MlflowRest(registry.source_url)
        assert demo_mlflow.seed(source, registry.workdir) is True
        assert demo_mlflow.seed(source, registry.workdir) is False  # a restart keeps what is there

        connector = get_connector("mlflow", registry.connector_config())
        capture, manifest = engine.backup(connector)
        # Read in the source server's artifact folder: nothing but the registry's description was staged.
        assert [p.name for p in (engine.tmp / f"staging-{engine.count}").iterdir()] == ["registry.json"]
        model = capture.details["models"][demo_mlflow.MODEL]
        assert sorted(model["versions"]) == ["1", "2"]
        assert model["aliases"] == {"champion": "2", "challenger": "1"}
        assert model["versions"]["2"]["stage"] == "Production"
        assert {"model.onnx", "model.safetensors", "MLmodel"} <= set(model["versions"]["1"]["artifacts"])
        assert model["versions"]["2"]["run"]["params"]["max_depth"] == "6"

        target = connector.drill_target(root=tmp_path, tag="t")
        assert target is not None and target["tracking_uri"] == registry.drill_url
        assert target["artifacts_path"] == str((registry.workdir / "drill" / "artifacts").resolve())
        connector.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        report = connector.verify(capture=capture, target=target)
        assert report.ok, report.summary()
        # Written where the drill server serves them from: its own download agrees.
        assert connector.verify(capture=capture, target={**target, "artifacts_path": ""}).ok
        connector.cleanup(target=target)
        assert model_names(MlflowRest(registry.drill_url), ()) == []
    finally:
        demo_mlflow.stop_servers(servers)
    assert all(proc.poll() is not None for proc in servers)


@pytest.mark.django_db
def test_without_mlflow_the_registry_asset_says_so_and_nothing_schedules_its_backup(tmp_path: Path) -> None:
    from inventory.models import Backup
    from tests.factories import AssetFactory

    missing = demo_mlflow.DemoRegistry(tmp_path, 1, 2, installed=False)
    config = missing.connector_config()
    asset = AssetFactory.create(name=demo_mlflow.ASSET, tier=0, connector="mlflow", connector_config=config)
    assert demo_mlflow.apply_availability(missing) is False
    asset.refresh_from_db()
    assert "unavailable: MLflow is not installed (run make mlflow-venv" in asset.title
    assert asset.policy is None
    assert demo_mlflow.queue_first_backup() is False

    installed = demo_mlflow.DemoRegistry(tmp_path, 1, 2, installed=True)
    assert demo_mlflow.apply_availability(installed) is True
    asset.refresh_from_db()
    assert (
        asset.title == "Fraud model registry (MLflow)"
        and asset.policy is not None
        and asset.policy.name.startswith("Tier 0")
    )
    assert asset.next_backup_at is not None and asset.next_backup_at > timezone.now()  # beat waits for the server
    assert demo_mlflow.queue_first_backup() is True
    assert Backup.objects.filter(asset=asset).count() == 1


def test_prepare_keeps_free_ports_and_replaces_taken_ones(tmp_path: Path) -> None:
    import socket

    first = demo_mlflow.DemoRegistry.prepare(tmp_path, tmp_path)
    assert first.installed is False  # no .venv-mlflow under this base folder
    assert first.source_port != first.drill_port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", first.source_port))
        second = demo_mlflow.DemoRegistry.prepare(tmp_path, tmp_path)
    assert second.drill_port == first.drill_port and second.source_port != first.source_port


def _processes_under(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(folder) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.servers
def test_stopping_the_demo_command_while_its_servers_start_leaves_no_server_behind(tmp_path: Path) -> None:
    """`make run` stopped early (honcho: SIGTERM, then SIGKILL after a grace period) must not leave the demo's
    MLflow servers running: they live in sessions of their own, so only the command can stop them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if demo_mlflow.mlflow_binary(settings.BASE_DIR) is None:
        pytest.skip("mlflow is not installed: run `make mlflow-venv`")
    var = tmp_path / "var"
    registry = demo_mlflow.DemoRegistry.prepare(var, settings.BASE_DIR)
    env = {**os.environ, "VAR_DIR": str(var), "DEBUG": "true"}
    env.pop("DATABASE_URL", None)
    command = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "mlflow_demo"], env=env, cwd=settings.BASE_DIR
    )
    try:
        deadline = time.monotonic() + 60
        while not (registry.workdir / "drill" / "server.log").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert command.poll() is None, "the command started its servers"
        command.send_signal(signal.SIGTERM)
        try:
            command.wait(timeout=2)  # honcho's grace period, shortened
        except subprocess.TimeoutExpired:
            command.kill()
            command.wait()
        deadline = time.monotonic() + 15
        while _processes_under(registry.workdir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_under(registry.workdir) == []
    finally:
        if command.poll() is None:
            command.kill()
        for pid in _processes_under(registry.workdir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
