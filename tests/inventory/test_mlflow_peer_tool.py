"""The connector bench's MLflow peer (bench/mlflow_peer_tool.py): mlflow-export-import moving a registry between
two servers started with ``--serve-artifacts``, as the bench runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from bench import mlflow_peer_tool

PEER = settings.BASE_DIR / ".venv-mlflow-peer" / "bin" / "python"


@pytest.mark.parametrize(
    "source",
    [
        "mlflow-artifacts:/1/0123abcd/artifacts/model",
        "runs:/0123abcd/model",
        "/srv/mlruns/1/0123abcd/artifacts/model",
    ],
)
def test_the_model_path_is_what_follows_the_run_in_the_source(source: str) -> None:
    assert mlflow_peer_tool.extract_model_path(source, "0123abcd") == "model"


def test_a_source_without_its_run_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot find run ID"):
        mlflow_peer_tool.extract_model_path("mlflow-artifacts:/1/other/artifacts/model", "0123abcd")


@pytest.mark.servers
def test_the_peer_moves_a_registry_only_with_its_patches(tmp_path: Path) -> None:
    if not PEER.exists():
        pytest.skip("make bench-mlflow-peer-venv installs mlflow-export-import")
    from bench.mlflow_bench import _mlflow_fill, _peer_round
    from inventory import demo_mlflow

    binary = PEER.with_name("mlflow")
    names = ("src", "peer", "bare")
    ports = [demo_mlflow.free_port() for _ in names]
    procs = [demo_mlflow.start_server(binary, tmp_path / name, port) for name, port in zip(names, ports, strict=True)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            demo_mlflow.wait_ready(f"http://127.0.0.1:{port}", proc)
        src, peer, bare = (f"http://127.0.0.1:{port}" for port in ports)
        _mlflow_fill(src, 3, 2048, warm=False)
        # Exported, imported, and checked: three versions, their weights files' SHA-256 (else SystemExit).
        export, into = _peer_round(PEER, tmp_path, src, peer, 3, warm=False)
        assert export > 0 and into > 0
        # The same export into another fresh server, without the patches: mlflow-export-import 1.2.0 refuses
        # the version's source (a wrong path inside an mlflow-artifacts: URI, checked as a local file).
        tool = Path(mlflow_peer_tool.__file__)
        log = tmp_path / "bare.log"
        command = [str(PEER), str(tool), "import", "--no-patch", "--tracking-uri", bare, "--models", "bench-model"]
        done = subprocess.run(
            [*command, "--input", str(tmp_path / "peer-export"), "--log", str(log)],
            capture_output=True,
            check=False,
        )
        assert done.returncode != 0
        assert "create_model_version does not exist: mlflow-artifacts:/" in done.stderr.decode()
    finally:
        demo_mlflow.stop_servers(procs)
