"""`manage.py traffic_demo` then the Procfile's traffic process: real HAProxy in front of the demo servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from incidents.runs.drivers.models import EndpointRoute
from incidents.runs.golden.models import GoldenSet
from tests.factories import AssetFactory
from tests.traffic.conftest import needs_haproxy

pytestmark = [pytest.mark.django_db, needs_haproxy]
ROOT = Path(__file__).resolve().parents[2]


def test_demo_wiring_and_stack(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    AssetFactory.create(name="fraud-scoring-eu", kind="endpoint", alternate_region="eu-central-1", serving="alternate")
    AssetFactory.create(name="fraud-detection-model", source_uri=str(tmp_path / "model-src"))
    call_command("traffic_demo")
    spec = json.loads((settings.VAR_DIR / "traffic" / "stack.json").read_text())
    assert [e["name"] for e in spec["endpoints"]] == ["fraud-scoring-eu"]
    assert EndpointRoute.objects.get(asset__name="fraud-scoring-eu").driver == "haproxy"
    assert GoldenSet.objects.get(asset__name="fraud-detection-model").model_format == "onnx"
    assert (tmp_path / "model-src" / "model.onnx").exists()

    stack = subprocess.Popen(
        [sys.executable, "-m", "incidents.runs.drivers.demo_stack", str(settings.VAR_DIR / "traffic" / "stack.json")],
        cwd=ROOT,
        # As `make run` does (there through DEBUG in VAR_DIR/.env): the stack may use its own admin socket.
        env={**os.environ, "CHECK_ALLOWED_SOCKET_DIRS": str(settings.VAR_DIR / "traffic")},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stack.stdout is not None
        line = stack.stdout.readline()  # printed once HAProxy answers on its admin socket
        assert "through HAProxy" in line and "(alternate serving)" in line, line
        url = f"http://127.0.0.1:{spec['endpoints'][0]['port']}/predict"
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    body = json.loads(answer.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert body["backend"] == "alternate", "the portal's record of what serves survives a restart"
    finally:
        stack.send_signal(signal.SIGTERM)
        assert stack.wait(timeout=10) == 0
