"""A real Celery worker SIGKILLed while its MLflow drill restore is creating runs: runs exist in the
drill registry that the step's saved ledger does not name (worker threads create them; the ledger is
saved from the restore's own thread), and the drill's clean-up still leaves nothing of the drill
there, runs, models and experiment purged (real `mlflow server`s, the MLflow virtualenv's Python)."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from incidents.runs.models import StepRun, StepState
from incidents.runs.services.connector_steps import connector_cleanup
from inventory.connectors.mlflow_registry import model_names
from inventory.connectors.mlflow_rest import MlflowApiError, MlflowRest
from inventory.models import Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.servers import mlflow_server
from tests.inventory.connectors.test_drill_purge import _all_experiments, _all_runs, mlflow_python
from tests.inventory.connectors.test_mlflow import register_version
from tests.runs.conftest import backed_up, make_plan, start_run
from tests.workers import RedisServer, running_worker

__all__ = ["mlflow_python"]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.servers,
    pytest.mark.usefixtures("loopback_allowed"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]
VERSIONS = 40


def _restored_runs(api: MlflowRest) -> set[str]:
    """The active runs of the drill's experiment (``drp-restored``), every page."""
    try:
        exp = api.get("/experiments/get-by-name", experiment_name="drp-restored")["experiment"]["experiment_id"]
    except MlflowApiError:
        return set()
    query = {"experiment_ids": [exp], "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
    return {r["info"]["run_id"] for r in api.post_pages("/runs/search", "runs", query)}


def _kill_while_runs_are_unsaved(doomed: Any, step: StepRun, api: MlflowRest) -> set[str]:
    """Freeze the worker (SIGSTOP) each time the drill registry holds restored runs; when its saved
    ledger names some of them but not all, SIGKILL it there; otherwise let it go on and look again."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if not _restored_runs(api):
            time.sleep(0.05)
            continue
        os.killpg(doomed.pid, signal.SIGSTOP)
        saved = StepRun.objects.get(pk=step.pk)
        recorded = {e["name"] for e in saved.ledger or [] if e["kind"] == "run"}
        unsaved = _restored_runs(api) - recorded
        if unsaved and recorded:  # mid-way: the ledger was saved with runs, and runs were made since
            os.killpg(doomed.pid, signal.SIGKILL)  # the machine dies: no flush, no goodbye
            doomed.wait()
            return unsaved
        os.killpg(doomed.pid, signal.SIGCONT)
        assert saved.state == StepState.RUNNING, "the restore finished before it could be caught mid-way"
        time.sleep(0.02)
    raise AssertionError("no moment with restored runs both in and missing from the saved ledger within 180 s")


def test_a_worker_killed_while_creating_mlflow_runs_leaves_nothing_after_the_drill_clean_up(
    tmp_path: Path,
    keys: Path,
    fs_vault: Vault,
    source_url: str,
    broker: RedisServer,
    commander: Any,
    mlflow_python: str,
) -> None:
    model = f"fraud-{uuid.uuid4().hex[:6]}"
    source = MlflowRest(source_url)
    source.post("/registered-models/create", {"name": model})
    for i in range(VERSIONS):
        register_version(source, model, {"MLmodel": f"flavor: v{i}".encode()}, {"depth": str(i)}, 0.5 + i / 100)
    with mlflow_server(tmp_path / "drill-registry") as drill_url:
        drill = MlflowRest(drill_url)
        before_runs, before_exps = _all_runs(drill), _all_experiments(drill)
        asset = AssetFactory.create(
            name="fraud-registry",
            source_uri=str(tmp_path / "unused"),
            connector="mlflow",
            connector_config={
                "tracking_uri": source_url,
                "models": [model],
                "drill_tracking_uri": drill_url,
                "drill_backend_store_uri": f"sqlite:///{tmp_path / 'drill-registry' / 'mlflow.db'}",
            },
            vault=fs_vault,
            policy=RecoveryPolicyFactory.create(name="policy-registry", rto_minutes=30, rpo_minutes=60),
        )
        backed_up(asset)
        plan = make_plan([{"key": "restore", "kind": "restore", "asset": asset.name}])
        env = {"CELERY_BROKER_URL": broker.url, "VAULT_KEY_FILE": str(keys), "VAULT_KEY_ID": "run-key"}
        with running_worker(name="doomed", concurrency=1, queues="", **env) as doomed:
            run = start_run(plan=plan, mode="drill", by=commander)
            step = StepRun.objects.get(run=run, key="restore")
            unsaved = _kill_while_runs_are_unsaved(doomed, step, drill)
        assert unsaved and unsaved <= _restored_runs(drill)  # runs no saved record names

        removed, kept, _unrecorded = connector_cleanup(run)  # the drill's clean-up of its connector targets
        assert kept == [] and removed, kept
        assert model_names(drill, ()) == []
        assert _all_runs(drill) == before_runs  # no run of the drill, not even a deleted one
        assert _all_experiments(drill) == before_exps  # and its experiment purged
        step.refresh_from_db()
        assert not any(e.get("state") == "created" for e in step.ledger), step.ledger
