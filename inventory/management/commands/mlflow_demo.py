"""`manage.py mlflow_demo`: the `mlflow` process of Procfile.dev (`make run`).

Starts the demo's source and drill MLflow registries on the loopback ports inventory_demo
chose, registers the tiny fraud model in the source one (once), queues the registry asset's
first backup, and keeps both servers up until stopped. Without `.venv-mlflow` it says the
asset is unavailable and waits, so the rest of the demo runs on.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from inventory import demo_mlflow
from inventory.connectors.mlflow_rest import MlflowRest


class Command(BaseCommand):
    help = "Run the demo's MLflow registries until stopped (or say that MLflow is not installed)."

    def handle(self, *args: Any, **options: Any) -> None:
        done = threading.Event()
        started: list[subprocess.Popen[bytes]] = []

        def stop(*_: Any) -> None:
            # At once, even while the servers are still starting: they run in sessions of their own, so a
            # process manager that kills this command after its grace period would leave them running.
            done.set()
            demo_mlflow.stop_servers(started)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        registry = demo_mlflow.DemoRegistry.load(settings.VAR_DIR, settings.BASE_DIR)
        binary = demo_mlflow.mlflow_binary(settings.BASE_DIR)
        if binary is None:
            self._say(f"mlflow: the demo asset {demo_mlflow.ASSET} is {demo_mlflow.UNAVAILABLE}.", warn=True)
            done.wait()
            return
        servers: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            for url, name, port in (
                (registry.source_url, "source", registry.source_port),
                (registry.drill_url, "drill", registry.drill_port),
            ):
                if not done.is_set():
                    servers.append((url, demo_mlflow.start_server(binary, registry.workdir / name, port)))
                    started.append(servers[-1][1])
            try:
                for url, proc in servers:
                    demo_mlflow.wait_ready(url, proc)
                added = demo_mlflow.seed(MlflowRest(registry.source_url), registry.workdir)
                queued = demo_mlflow.queue_first_backup()
                self._say(
                    f"mlflow: registry at {registry.source_url} ({'fraud model registered' if added else 'kept'}), "
                    f"drill registry at {registry.drill_url}" + ("; first backup queued" if queued else "")
                )
            except Exception as exc:  # the demo runs on without its registry, and says why
                if not done.is_set():  # (stopped while starting: not a failure to report)
                    self._say(
                        f"mlflow: the demo registry could not start ({exc}); {demo_mlflow.ASSET} is unavailable.",
                        warn=True,
                    )
            done.wait()
        finally:
            demo_mlflow.stop_servers(started)

    def _say(self, text: str, *, warn: bool = False) -> None:
        self.stdout.write(self.style.WARNING(text) if warn else text)
        self.stdout.flush()
