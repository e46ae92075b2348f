"""The demo's traffic stack: ``python -m incidents.runs.drivers.demo_stack var/traffic/stack.json``.

Starts, for each demo endpoint, three local inference servers (primary,
alternate region, fallback: a coarser model) and one HAProxy in front of them,
on the ports ``manage.py traffic_demo`` chose. Without HAProxy it says so and
keeps only the inference servers up: the demo endpoints are then record only.
Stops everything on SIGTERM/SIGINT (Ctrl-C in ``make run``).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from incidents.runs.drivers.haproxy_stack import Endpoint, HAProxyStack, haproxy_binary
from incidents.runs.drivers.inference_server import InferenceServer


def serve(spec: dict[str, Any]) -> None:
    model = spec.get("model") or {}
    weights, bias = model.get("weights"), model.get("bias")
    coarse = [[round(w, 1) for w in row] for row in weights] if weights else None
    servers = []
    endpoints = []
    for endpoint in spec["endpoints"]:
        for route, port in endpoint["servers"].items():
            server = InferenceServer(route, port=port, weights=coarse if route == "fallback" else weights, bias=bias)
            servers.append(server.start())
        endpoints.append(Endpoint(name=endpoint["name"], servers=endpoint["servers"], port=endpoint["port"]))
    stack = None
    if spec.get("haproxy") and haproxy_binary():
        serving = {e["name"]: e.get("serving", "primary") for e in spec["endpoints"]}
        stack = HAProxyStack(endpoints, Path(spec["workdir"]), serving=serving).start()
        for endpoint in endpoints:
            sys.stdout.write(
                f"traffic: {endpoint.name} through HAProxy at {endpoint.url} ({serving[endpoint.name]} serving)\n"
            )
    else:
        sys.stdout.write(
            "traffic: HAProxy is not installed (apt-get install haproxy): demo endpoints are RECORD ONLY — "
            "failover steps record the decision, nothing is switched.\n"
        )
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    if stack is not None:
        stack.stop()
    for server in servers:
        server.stop()


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "var/traffic/stack.json").read_text()))
