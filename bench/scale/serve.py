"""The pages served by gunicorn (DEBUG off): every page with one client and with 20 (3 workers), and a few
pages with 20 clients against 1 and 3 workers (the web tier scaled out)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.scale import procs
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


def static_env(env: dict[str, str]) -> dict[str, str]:
    """DEBUG is off, as in production: the pages need the collected, hashed static files."""
    env = {**env, "STATIC_ROOT": str(Path(env["VAR_DIR"]) / "static")}
    if not Path(env["STATIC_ROOT"]).is_dir():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
    return env


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int) -> Iterator[str]:
    """gunicorn with `workers` processes on the bench port, answering; stopped when the block ends."""
    server = procs.spawn(
        [sys.executable, "-m", "gunicorn", "dr_portal.wsgi", "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers)],
        env=env,
        log=Path(env["VAR_DIR"]) / f"gunicorn-{workers}.log",
    )
    base = f"http://127.0.0.1:{PORT}"
    with procs.started(server):
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start; see gunicorn-{workers}.log")
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 - our own local server
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer on {base} in a minute")
        yield base


def concurrent(base: str, url: str, cookie: str, *, clients: int = 20, each: int = 5) -> tuple[float, ...]:
    """`clients` threads each fetching `url` `each` times at once: (p50, p95, p99, pages/s)."""
    samples: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            mine = [get(base + url, cookie) for _ in range(each)]
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{url}: {len(errors)} of {clients} clients failed: {errors[0]}")
    return (*percentiles(samples), len(samples) / wall)


def serve_and_time(urls: dict[str, str], cookie: str, env: dict[str, str], sizes: Sizes, results: Results) -> None:
    with gunicorn(static_env(env), workers=3) as base:
        for name, url in urls.items():
            for _ in range(3):
                get(base + url, cookie)
            results.one[name] = percentiles([get(base + url, cookie) for _ in range(sizes.requests)])
            print(f"  1 client  {name}: p50 {results.one[name][0]:.0f} ms, p95 {results.one[name][1]:.0f} ms")
        for name, url in urls.items():
            p50, p95, p99, rate = concurrent(base, url, cookie)
            results.twenty[name] = (p50, p95, p99, rate)
            print(f"  20 clients {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, {rate:.1f} pages/s")


WEB_TIER_PAGES = ("dashboard", "inventory", "API readiness")
WEB_TIER_WORKERS = (1, 3)


def time_web_tier(urls: dict[str, str], cookie: str, env: dict[str, str], results: Results) -> None:
    """The same 20 clients on a few pages against gunicorn with 1 and with 3 worker processes."""
    env = static_env(env)
    for workers in WEB_TIER_WORKERS:
        with gunicorn(env, workers=workers) as base:
            for name in WEB_TIER_PAGES:  # every worker process warm, its database connection open
                concurrent(base, urls[name], cookie, clients=4 * workers, each=1)
            load = os.getloadavg()[0]
            figures = {}
            for name in WEB_TIER_PAGES:
                p50, p95, p99, rate = concurrent(base, urls[name], cookie)
                figures[name] = (p50, p95, p99, rate)
                print(
                    f"  gunicorn {workers} worker(s), 20 clients, {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms,"
                    f" {rate:.1f} pages/s",
                    flush=True,
                )
            results.web[workers] = figures
            results.web_loads[workers] = (load, os.getloadavg()[0])
