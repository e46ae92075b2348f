"""Private servers for connector tests: bound to 127.0.0.1 on a free port, stopped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.inventory.conftest import free_port

REDIS_PASSWORD = "drill-pass"  # the shared test redis-server's (tests/server_fixtures.py)


@contextmanager
def redis_server(workdir: Path, *, password: str) -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--requirepass",
            password,
            "--databases",
            "16",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def mlflow_binary() -> str | None:
    """The mlflow server lives in its own virtualenv (see requirements-mlflow.txt)."""

    explicit = os.environ.get("MLFLOW_SERVER_BIN")
    if explicit:
        return explicit
    local = Path(__file__).resolve().parents[3] / ".venv-mlflow" / "bin" / "mlflow"
    return str(local) if local.exists() else shutil.which("mlflow")


@contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """A fresh MLflow tracking server: SQLite backend, local artifact store served by the server."""
    binary = mlflow_binary()
    if binary is None:
        pytest.skip("mlflow is not installed: run `make mlflow-venv` (requirements-mlflow.txt)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{workdir}/mlflow.db",
            "--artifacts-destination",
            str(workdir / "artifacts"),
            "--serve-artifacts",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        # As the demo's servers: no idle job consumers (about 1 GiB a server under a full suite).
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc, timeout=120)
        _wait_for_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        import signal

        # The server forks workers; stop its whole process group, which only it is in.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback test server
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")
