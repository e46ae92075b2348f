"""`manage.py traffic_demo`: wire the demo endpoints to a real HAProxy (or record only) and give the model a golden set.

Run by `make run` after inventory_demo. Writes VAR_DIR/traffic/stack.json for
the `traffic` process of Procfile.dev, sets each demo endpoint's driver, writes
tiny real models (no download) into the demo model's source and saves its
golden set. Safe to run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from incidents.runs.drivers.haproxy_stack import free_port, haproxy_binary
from incidents.runs.drivers.models import EndpointRoute
from incidents.runs.drivers.services import endpoint_route_set
from incidents.runs.golden.make_models import make_models
from incidents.runs.golden.models import GoldenSet
from incidents.runs.golden.services import golden_set_save
from inventory.models import Asset, RecoveryPoint
from inventory.services import backup_request

ENDPOINTS = ("fraud-scoring-eu", "support-chat-endpoint")
MODEL_ASSET = "fraud-detection-model"


class Command(BaseCommand):
    help = "Wire the demo endpoints to HAProxy (or record only) and save the demo model's golden set."

    def handle(self, *args: Any, **options: Any) -> None:
        workdir = Path(settings.VAR_DIR) / "traffic"
        workdir.mkdir(parents=True, exist_ok=True)
        golden = self._model(workdir)
        has_haproxy = haproxy_binary() is not None
        spec: dict[str, Any] = {"workdir": str(workdir), "haproxy": has_haproxy, "endpoints": [], "model": golden}
        for asset in Asset.objects.filter(name__in=ENDPOINTS):
            servers = {r: free_port() for r in ("primary", "alternate", "fallback")}
            # HAProxy starts with what the portal says serves (a failover survives a restart of the demo).
            endpoint: dict[str, Any] = {
                "name": asset.name,
                "port": free_port(),
                "servers": servers,
                "serving": asset.serving,
            }
            spec["endpoints"].append(endpoint)
            if has_haproxy:
                config = {
                    "socket": f"unix:{workdir / 'admin.sock'}",
                    "backend": f"be_{asset.name}",
                    "servers": {r: r for r in servers},
                    "smoke_url": f"http://127.0.0.1:{endpoint['port']}/predict",
                }
                endpoint_route_set(asset=asset, driver="haproxy", config=config)
                self.stdout.write(f"traffic: {asset.name} → HAProxy at http://127.0.0.1:{endpoint['port']}/predict")
            else:
                EndpointRoute.objects.filter(asset=asset).delete()
        if not has_haproxy:
            self.stdout.write(
                self.style.WARNING(
                    "traffic: HAProxy is not installed (apt-get install haproxy): demo endpoints are RECORD ONLY "
                    "(recorded, nothing switched)."
                )
            )
        (workdir / "stack.json").write_text(json.dumps(spec, indent=2))

    def _model(self, workdir: Path) -> dict[str, Any] | None:
        asset = Asset.objects.filter(name=MODEL_ASSET).first()
        if asset is None:
            return None
        source = Path(asset.source_uri)
        fresh = not (source / "model.onnx").exists()
        data = make_models(source)
        model = {"weights": data["weight"], "bias": data["bias"]}
        if not GoldenSet.objects.filter(asset=asset).exists():
            golden_set_save(
                asset=asset,
                model_format="onnx",
                model_path="model.onnx",
                inputs=data["inputs"],
                expected=data["expected"],
                tolerance=1e-4,
            )
        if fresh and RecoveryPoint.objects.good().filter(asset=asset).exists():
            backup_request(asset=asset, by=None)  # so the newest point holds the model the golden set checks
        self.stdout.write(f"traffic: {MODEL_ASSET} has a golden set ({len(data['inputs'])} cases, ONNX)")
        return model
