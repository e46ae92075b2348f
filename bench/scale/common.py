"""Sizes, results and the bench database: what every part of the scale bench shares."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent

PORT = int(os.environ.get("SCALE_BENCH_PORT", "18300"))
SECRET = "scale-bench-only-not-a-secret-" + "x" * 30
MARK_START = "<!-- scale-bench:start -->"
MARK_END = "<!-- scale-bench:end -->"


@dataclass
class Sizes:
    assets: int
    history: int  # backups (and points) per asset over a year
    incidents: int
    events: int
    timeline: int
    worker_assets: int
    requests: int  # per page with one client


FULL = Sizes(
    assets=10_000, history=40, incidents=1_000, events=1_000_000, timeline=5_000, worker_assets=120, requests=40
)
# Only enough estate for the worker part (with --no-pages).
TINY = Sizes(assets=40, history=2, incidents=2, events=1_000, timeline=10, worker_assets=40, requests=5)


def scaled(fraction: float) -> Sizes:
    """The full estate times `fraction` (history per asset stays a year; at least a token of each)."""
    if fraction >= 1:
        return FULL
    return Sizes(
        assets=max(40, round(FULL.assets * fraction)),
        history=FULL.history,
        incidents=max(2, round(FULL.incidents * fraction)),
        events=max(1_000, round(FULL.events * fraction)),
        timeline=max(10, round(FULL.timeline * fraction)),
        worker_assets=40,
        requests=30,
    )


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while the bench runs, for the report."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> str:
        ordered = sorted(self.samples)
        median = ordered[len(ordered) // 2]
        return f"{ordered[0]:.1f} to {ordered[-1]:.1f} (median {median:.1f}, {len(ordered)} samples)"


@dataclass
class Results:
    sizes: Sizes
    fill: dict[str, float] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, float] = field(default_factory=dict)
    one: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    twenty: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    workers: dict[int, float] = field(default_factory=dict)  # worker processes -> backups a minute
    # worker processes -> (restores a minute, seconds to the last restore, seconds of the whole run, bytes)
    restores: dict[int, tuple[float, float, float, int]] = field(default_factory=dict)
    worker_loads: dict[str, tuple[float, float]] = field(default_factory=dict)  # round -> 1-min load, start, end
    windows: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # round -> local start, end
    beat_sent: dict[str, dict[str, int]] = field(default_factory=dict)  # round -> periodic task -> sends
    # gunicorn workers -> page -> (p50, p95, p99, pages/s) with 20 clients
    web: dict[int, dict[str, tuple[float, float, float, float]]] = field(default_factory=dict)
    web_loads: dict[int, tuple[float, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def bench_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_bench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def timed(results: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = work()
    results[name] = time.perf_counter() - start
    print(f"  {name}: {results[name]:.2f} s", flush=True)
    return value
