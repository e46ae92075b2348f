"""Start real Celery worker processes against the test database.

Tests that need what only a worker shows (acks, crashes, concurrency) use
`running_worker()`; nothing here runs tasks eagerly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test copy)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or ''}{port}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(settings.VAR_DIR),
            # The same folders as the test itself: its sources and vaults live in the temporary folder.
            "SOURCE_ROOTS": ",".join(str(p) for p in settings.SOURCE_ROOTS),
            "VAULT_ROOTS": ",".join(str(p) for p in settings.VAULT_ROOTS),
        }
    )
    if hasattr(settings, "CELERY_FILESYSTEM_DIR"):
        env["CELERY_FILESYSTEM_DIR"] = str(settings.CELERY_FILESYSTEM_DIR)
    env.update(extra)
    return env


@contextmanager
def running_worker(
    *, name: str = "test", concurrency: int = 1, queues: str = "", **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process; `queues` ("backups,restores") limits what it consumes, as `-Q` does."""
    with _worker(name=name, concurrency=concurrency, beat=False, env=extra_env, queues=queues) as process:
        yield process


@contextmanager
def running_worker_with_beat(
    *, name: str = "test", concurrency: int = 1, **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker that also runs the periodic tasks (the reconcilers among them)."""
    with _worker(name=name, concurrency=concurrency, beat=True, env=extra_env) as process:
        yield process


@contextmanager
def _worker(
    *, name: str, concurrency: int, beat: bool, env: dict[str, str], queues: str = ""
) -> Iterator[subprocess.Popen[bytes]]:
    log = open(settings.VAR_DIR / f"worker-{name}.log", "wb")  # noqa: SIM115 - closed below
    extra_args = ["--beat", "--schedule", str(settings.VAR_DIR / f"beat-{name}")] if beat else []
    extra_args += ["--queues", queues] if queues else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dr_portal.worker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            *extra_args,
        ],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A throw-away redis-server on a spare port that a test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    return conn.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Make this process's Celery app publish to `url` (a worker is pointed there through its env)."""
    from dr_portal.celery import app as celery_app

    app: Any = celery_app
    # Celery prefers the CELERY_BROKER_URL variable over its configuration, so switch both.
    previous = (app.conf.broker_url, os.environ.get("CELERY_BROKER_URL"), app.conf.broker_write_url)
    app._after_fork()  # forget the cached connection and producer pools; they stay usable for later
    app.conf.broker_url = url
    app.conf.broker_write_url = url  # set explicitly by some tests' monkeypatching; it wins over broker_url
    os.environ["CELERY_BROKER_URL"] = url
    try:
        yield
    finally:
        app._after_fork()
        app.conf.broker_url = previous[0]
        app.conf.broker_write_url = previous[2]
        if previous[1] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous[1]
