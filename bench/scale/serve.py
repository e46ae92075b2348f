"""The pages served by gunicorn (3 workers, DEBUG off), timed with one client and with 20."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench.scale.common import PORT, ROOT, SECRET, Results, Sizes


def server_env(db_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "VAR_DIR": str(var_dir),
            "DEBUG": "false",
            "SECRET_KEY": SECRET,  # the same as the bench process's, so its session cookie is valid
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HTTPS": "false",
            "METRICS_TOKEN": "bench-metrics",
            "DATABASE_CONN_MAX_AGE": "60",
        }
    )
    return env


def get(url: str, cookie: str) -> float:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(url)
    headers = {"Cookie": f"sessionid={cookie}"}
    if url.endswith("/metrics"):  # a token elsewhere would be tried as an API token and refused
        headers["Authorization"] = "Bearer bench-metrics"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own local server
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
        response.read()
        if response.status != 200 or response.geturl() != url:
            raise RuntimeError(f"{url}: HTTP {response.status}, {response.geturl()}")
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49] * 1000, cut[94] * 1000, cut[98] * 1000


def serve_and_time(urls: dict[str, str], cookie: str, env: dict[str, str], sizes: Sizes, results: Results) -> None:
    # DEBUG is off, as in production: the pages need the collected, hashed static files.
    env = {**env, "STATIC_ROOT": str(Path(env["VAR_DIR"]) / "static")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    log = open(Path(env["VAR_DIR"]) / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "dr_portal.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "3",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 - our own local server
                break
            except OSError:
                time.sleep(0.2)
        for name, url in urls.items():
            for _ in range(3):
                get(base + url, cookie)
            results.one[name] = percentiles([get(base + url, cookie) for _ in range(sizes.requests)])
            print(f"  1 client  {name}: p50 {results.one[name][0]:.0f} ms, p95 {results.one[name][1]:.0f} ms")
        for name in ("dashboard", "inventory", "readiness", "audit", "API readiness"):
            samples: list[float] = []
            lock = threading.Lock()

            def client(url: str = urls[name], samples: list[float] = samples, lock: threading.Lock = lock) -> None:
                mine = [get(base + url, cookie) for _ in range(5)]
                with lock:
                    samples.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(20)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            p50, p95, p99 = percentiles(samples)
            results.twenty[name] = (p50, p95, p99, len(samples) / wall)
            print(f"  20 clients {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, {len(samples) / wall:.1f} pages/s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()
