"""A drill whose MLflow clean-up cannot purge what it deleted still cleans up, and says what is left and
why on the run page and in the run.cleaned_up audit event (a real MLflow server, the run's own services)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from dr_portal.audit.models import AuditEvent
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.models import Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.test_mlflow import register_version
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = [pytest.mark.django_db, pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def test_a_purge_that_cannot_run_leaves_the_runs_listed_as_kept_on_the_page_and_in_the_audit_event(
    tmp_path: Path,
    keys: Path,
    fs_vault: Vault,
    source_url: str,
    target_url: str,
    commander: Any,
    client_for: Any,
    settings: Any,
) -> None:
    model = f"fraud-{uuid.uuid4().hex[:6]}"
    api = MlflowRest(source_url)
    api.post("/registered-models/create", {"name": model})
    register_version(api, model, {"MLmodel": b"flavor: sklearn"}, {"depth": "6"}, 0.93)
    config = {
        "tracking_uri": source_url,
        "models": [model],
        "drill_tracking_uri": target_url,
        "drill_backend_store_uri": f"sqlite:///{tmp_path / 'drill' / 'mlflow.db'}",
    }
    asset = AssetFactory.create(
        name="fraud-registry",
        source_uri=str(tmp_path / "unused"),
        connector="mlflow",
        connector_config=config,
        vault=fs_vault,
        policy=RecoveryPolicyFactory.create(name="policy-registry", rto_minutes=30, rpo_minutes=60),
    )
    backed_up(asset)
    settings.MLFLOW_PYTHON = str(tmp_path / "no-venv" / "bin" / "python")

    plan = make_plan([{"key": "restore", "kind": "restore", "asset": "fraud-registry"}])
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    assert run.cleaned_at is not None
    runs = [e["name"] for e in run.steps.get(key="restore").ledger if e["kind"] == "run"]
    assert runs

    why = (
        "deleted, but MLflow keeps its rows (params, metrics, tags) until `mlflow gc`: no MLflow Python to purge "
        f"it with: MLFLOW_PYTHON ({tmp_path}/no-venv/bin/python) is not an executable file."
    )
    event = AuditEvent.objects.filter(action="run.cleaned_up", object_id=str(run.public_id)).get()
    assert {f"fraud-registry: run {r} — {why}" for r in runs} <= set(event.payload["kept"]), event.payload
    page = client_for(commander).get(f"/runs/{run.public_id}/").content.decode()
    assert "Kept:</strong>" in page and f"run {runs[0]} — deleted, but MLflow keeps its rows" in page
    listed = MlflowRest(target_url).get("/registered-models/search").get("registered_models", [])
    assert model not in {m["name"] for m in listed}  # the model itself was removed
