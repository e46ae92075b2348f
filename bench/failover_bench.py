"""Failover benchmark: approval → traffic on the alternate, and failed client requests during planned failovers.

Usage:  DEBUG=true python -m bench.failover_bench [--rounds 10] [--clients 4]

Everything is real and local: a throw-away SQLite database, a private
redis-server and a real Celery worker, three local inference servers behind a
real HAProxy (runtime API on a unix socket), and client threads looping
through HAProxy for the whole benchmark. Each round starts a recovery run whose
failover step needs two on-call approvals, approves it, and measures from the
second approval (the call that completes the quorum) to the first client answer
served by the alternate. Then a failback run moves traffic back (measured the
same way, to primary). Every client request that failed (connection error,
non-200) is counted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.restore_bench import an_incident, machine, people, setup_django  # noqa: E402


class Clients:
    """Threads looping through HAProxy; each answer is (time, backend or None for a failure)."""

    def __init__(self, url: str, count: int, limit_seconds: float) -> None:
        self.url, self.answers, self.failures = url, [], []  # type: ignore[var-annotated]
        self.stop = threading.Event()
        self.deadline = time.monotonic() + limit_seconds  # bounded whatever happens
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def _loop(self) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310 - loopback
                    backend = json.loads(response.read())["backend"]
                self.answers.append((time.time(), backend))
            except Exception as exc:
                self.failures.append((time.time(), repr(exc)))
            time.sleep(0.002)

    def first(self, backend: str, after: float, timeout: float = 30) -> float:
        limit = time.time() + timeout
        while time.time() < limit:
            seen = [t for t, b in list(self.answers) if b == backend and t >= after]
            if seen:
                return min(seen)
            time.sleep(0.005)
        raise SystemExit(f"traffic never reached {backend}")


def worker_up(workdir: Path) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], Any]:
    from django.db import connection

    from dr_portal.celery import app
    from incidents.runs.drivers.haproxy_stack import free_port

    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise SystemExit("redis-server is needed for the real worker (apt-get install redis-server)")
    broker = f"redis://127.0.0.1:{free_port()}/0"
    port = broker.rsplit(":", 1)[1].split("/")[0]
    redis = subprocess.Popen(
        [redis_bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    env = {**os.environ, "CELERY_BROKER_URL": broker, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}"}
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 - closed by the caller
    args = ["--concurrency", "2", "--loglevel", "WARNING", "--without-mingle", "--without-gossip", "-n", "fbench@%h"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dr_portal.worker", "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    celery: Any = app
    celery._after_fork()
    celery.conf.broker_url = celery.conf.broker_write_url = broker
    os.environ["CELERY_BROKER_URL"] = broker
    time.sleep(4)  # let the worker connect
    return redis, worker, log


def one_switch(plan: Any, mode: str, expect: str, clients: Clients, people_: tuple[Any, Any, Any]) -> float:
    from incidents.runs.models import RecoveryRun, StepRun
    from incidents.runs.services import run_start, step_approve

    commander, first, second = people_
    run = run_start(plan=plan, mode=mode, by=commander, incident=an_incident("real", commander))
    deadline = time.monotonic() + 30
    while not StepRun.objects.filter(run=run, state="waiting_approval").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the worker never asked for approval; see worker.log")
        time.sleep(0.02)
    step = StepRun.objects.get(run=run, key="switch")
    step_approve(step=step, by=first, comment="bench: alternate checked")
    approved = time.time()
    step_approve(step=StepRun.objects.get(pk=step.pk), by=second, comment="bench: agreed")
    landed = clients.first(expect, approved)
    deadline = time.monotonic() + 30
    while RecoveryRun.objects.get(pk=run.pk).status not in ("succeeded", "failed", "partially_failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the run did not finish")
        time.sleep(0.05)
    status = RecoveryRun.objects.get(pk=run.pk).status
    if status != "succeeded":
        raise SystemExit(f"{mode} run ended {status}: {StepRun.objects.get(pk=step.pk).error}")
    return landed - approved


def bench(workdir: Path, rounds: int, clients_n: int) -> dict[str, Any]:
    from dr_portal.accounts.models import Role, User
    from incidents.runs.drivers.haproxy_stack import Endpoint, HAProxyStack, haproxy_binary
    from incidents.runs.drivers.inference_server import InferenceServer
    from incidents.runs.drivers.services import endpoint_route_set
    from inventory.models import Asset
    from inventory.services import plan_save

    if haproxy_binary() is None:
        raise SystemExit("haproxy is not installed (apt-get install haproxy)")
    servers = {r: InferenceServer(r).start() for r in ("primary", "alternate", "fallback")}
    endpoint = Endpoint(name="bench", servers={r: s.port for r, s in servers.items()})
    stack = HAProxyStack([endpoint], Path(tempfile.mkdtemp(prefix="fb-"))).start()
    stack.wait_healthy(endpoint, list(servers))
    redis, worker, log = worker_up(workdir)
    clients = Clients(endpoint.url, clients_n, limit_seconds=60 + rounds * 30)
    try:
        commander, first = people()
        second, _ = User.objects.get_or_create(username="bench-oncall-2", defaults={"role": Role.ONCALL_ENGINEER})
        asset = Asset.objects.create(
            name="bench-scoring",
            kind="endpoint",
            owner_team="bench",
            tier=0,
            region="eu-west-1",
            alternate_region="eu-central-1",
            source_uri=str(workdir),
        )
        config = {
            "socket": f"unix:{stack.socket}",
            "backend": endpoint.backend,
            "servers": {r: r for r in servers},
            "smoke_url": endpoint.url,
        }
        endpoint_route_set(asset=asset, driver="haproxy", config=config)
        plan = plan_save(
            data={
                "name": "bench failover",
                "steps": [
                    {
                        "key": "switch",
                        "kind": "failover",
                        "asset": asset.name,
                        "approval": {"role": "oncall_engineer", "quorum": 2},
                    }
                ],
            },
            by=None,
        )
        for thread in clients.threads:
            thread.start()
        time.sleep(1)
        over, back = [], []
        for _ in range(rounds):
            over.append(one_switch(plan, "recovery", "alternate", clients, (commander, first, second)))
            back.append(one_switch(plan, "failback", "primary", clients, (commander, first, second)))
        clients.stop.set()
        for thread in clients.threads:
            thread.join()
    finally:
        clients.stop.set()
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()
        redis.terminate()
        redis.wait(timeout=10)
        stack.stop()
        for server in servers.values():
            server.stop()

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[max(0, round(0.95 * len(ordered)) - 1)],
            "max_ms": 1000 * ordered[-1],
        }

    return {
        "rounds": rounds,
        "clients": clients_n,
        "failover": summary(over),
        "failback": summary(back),
        "client_requests": len(clients.answers) + len(clients.failures),
        "client_failures": len(clients.failures),
        "first_failures": [f for _, f in clients.failures[:3]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    from incidents.runs.drivers.haproxy_stack import haproxy_binary

    if haproxy_binary() is None or shutil.which("redis-server") is None:
        sys.stdout.write(
            "failover bench skipped: it needs haproxy and redis-server (apt-get install haproxy redis-server)\n"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="drp-failover-bench-") as tmp:
        workdir = Path(tmp)
        setup_django(workdir)
        result = bench(workdir, args.rounds, args.clients)
    out = sys.stdout
    out.write(
        f"failover (second approval → first answer from the alternate), {result['rounds']} rounds: "
        f"p50 {result['failover']['p50_ms']:.0f} ms, p95 {result['failover']['p95_ms']:.0f} ms, "
        f"max {result['failover']['max_ms']:.0f} ms\n"
        f"failback (→ primary): p50 {result['failback']['p50_ms']:.0f} ms, p95 {result['failback']['p95_ms']:.0f} ms\n"
        f"client requests through HAProxy: {result['client_requests']}, failed: {result['client_failures']}\n"
    )
    out.write(json.dumps({"failover_bench": result, "machine": machine()}) + "\n")
    return 0 if result["client_failures"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
