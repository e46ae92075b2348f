"""Request and alert counts add up across gunicorn's worker processes (#11 item 15).

A real server with two workers, DEBUG off: requests spread over both processes,
and one scrape — answered by either worker — must report the total sent, not
that worker's share. A count file left by an earlier server is forgotten when
the server starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from tests.ops.test_request_counts import samples
from tests.workers import ROOT, free_port, wait_for, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

METRICS_TOKEN = "scrape-" + "s" * 30
INTAKE_TOKEN = "intake-token-for-tests-0123456789"
HEALTH = 120


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    counts = tmp_path / "counts"
    counts.mkdir()
    stale = MmapedDict(str(counts / "counter_999999.db"))  # as if left by a process of an earlier run
    key = mmap_key(
        "drp_http_requests", "drp_http_requests_total", ["method", "route", "status"], ["GET", "healthz", "200"], ""
    )
    stale.write_value(key, 5000.0, 0.0)
    stale.close()
    port = free_port()
    env = worker_env(
        DEBUG="false",
        SECRET_KEY="k" * 30 + "9Xq!" * 10,
        ALLOWED_HOSTS="127.0.0.1",
        HTTPS="false",
        METRICS_TOKEN=METRICS_TOKEN,
        ALERT_INTAKE_TOKEN=INTAKE_TOKEN,
        METRICS_PROCESS_DIR=str(counts),
    )
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dr_portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,  # where gunicorn finds gunicorn.conf.py, as the Procfile runs it
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=60, what="gunicorn to answer")
        yield base, counts
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _status(url: str, *, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - our own local server
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own local server
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def _scrape(base: str) -> dict[Any, float]:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own local server
        return samples(response.read().decode())


def _per_process(counts: Path, tmp_path: Path) -> list[float]:
    """Each process's own count of healthz answers, read from its file alone."""
    shares = []
    for index, file in enumerate(sorted(counts.glob("counter_*.db"))):
        alone = tmp_path / f"alone-{index}"
        alone.mkdir()
        (alone / file.name).write_bytes(file.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        value = registry.get_sample_value(
            "drp_http_requests_total", {"method": "GET", "route": "healthz", "status": "200"}
        )
        if value:
            shares.append(value)
    return shares


def test_counts_add_up_over_two_worker_processes(server: tuple[str, Path], tmp_path: Path) -> None:
    base, counts = server
    assert not (counts / "counter_999999.db").exists()  # emptied as the server started
    waited = _scrape(base)  # the health checks made while waiting for the server
    already = waited.get(("drp_http_requests_total", (("method", "GET"), ("route", "healthz"), ("status", "200"))), 0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _status(f"{base}/healthz"), range(HEALTH)))
    assert answers == [200] * HEALTH
    intake = f"{base}/api/v1/intake/generic/"
    bearer = {"Authorization": f"Bearer {INTAKE_TOKEN}"}
    firing = {"dedupe_key": "disk", "title": "Disk filling", "labels": {"service": "nothing-we-know"}}
    assert _status(intake, body=firing, headers=bearer) == 200
    assert _status(intake, body={**firing, "dedupe_key": "gone", "status": "resolved"}, headers=bearer) == 200
    with ThreadPoolExecutor(max_workers=4) as pool:
        refused = list(
            pool.map(lambda _: _status(intake, body=firing, headers={"Authorization": "Bearer no"}), range(6))
        )
    assert refused == [401] * 6

    got = _scrape(base)
    healthz = ("drp_http_requests_total", (("method", "GET"), ("route", "healthz"), ("status", "200")))
    assert got[healthz] == already + HEALTH
    shares = _per_process(counts, tmp_path)
    assert len(shares) == 2, shares  # both workers answered: neither alone holds the total
    assert sum(shares) == got[healthz] and max(shares) < got[healthz]
    latency = ("drp_http_request_duration_seconds_count", (("method", "GET"), ("route", "healthz")))
    assert got[latency] == got[healthz]
    assert (
        got[("drp_http_requests_total", (("method", "POST"), ("route", "api:intake-generic"), ("status", "401")))] == 6
    )

    def alerts(outcome: str) -> float:
        return got[("drp_alerts_received_total", (("outcome", outcome), ("source", "generic")))]

    assert (alerts("accepted"), alerts("ignored"), alerts("rejected")) == (1, 1, 6)
