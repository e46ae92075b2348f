"""A drill restore whose worker died after filling part of its target is taken over and finishes:
the new attempt first removes what the step's record says the earlier one made (a real drill
`mlflow server` and a real Redis drill db), instead of refusing its own leftovers as "not empty"."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from incidents.runs.models import StepRun, StepState
from incidents.runs.services import run_advance
from incidents.runs.services.connector_steps import connector_restore
from incidents.runs.services.execute import step_execute
from incidents.runs.services.steps import step_claim
from inventory.connectors.ledger import summary as ledger_summary
from inventory.connectors.mlflow_registry import model_names
from inventory.connectors.mlflow_rest import MlflowRest
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.conftest import REDIS_PASSWORD
from tests.inventory.connectors.test_mlflow import register_version
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = [pytest.mark.django_db, pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def _asset(name: str, kind: str, config: dict[str, Any], vault: Any, tmp_path: Path) -> Any:
    return AssetFactory.create(
        name=name,
        source_uri=str(tmp_path / "unused" / name),
        connector=kind,
        connector_config=config,
        vault=vault,
        policy=RecoveryPolicyFactory.create(name=f"policy-{name}", rto_minutes=30, rpo_minutes=60),
    )


def test_a_taken_over_group_restore_clears_what_the_dead_attempt_made_and_finishes(
    tmp_path: Path,
    keys: Path,
    fs_vault: Any,
    source_url: str,
    target_url: str,
    redis_port: int,
    commander: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    model = f"fraud-{uuid.uuid4().hex[:6]}"
    api = MlflowRest(source_url)
    api.post("/registered-models/create", {"name": model})
    register_version(api, model, {"MLmodel": b"flavor: sklearn"}, {"depth": "3"}, 0.9)
    live = redis.Redis(port=redis_port, db=11, password=REDIS_PASSWORD)
    drill_db = redis.Redis(port=redis_port, db=12, password=REDIS_PASSWORD)
    live.flushdb()
    drill_db.flushdb()
    for i in range(50):
        live.set(f"fraud:{i}", str(i))
    drill_api = MlflowRest(target_url)
    drill_api.post("/registered-models/create", {"name": f"theirs-{model}"})  # not the drill's
    _asset(
        "registry",
        "mlflow",
        {"tracking_uri": source_url, "models": [model], "drill_tracking_uri": target_url},
        fs_vault,
        tmp_path,
    )
    _asset(
        "features",
        "redis",
        {"port": redis_port, "db": 11, "prefix": "fraud:", "password": "env:DRP_TEST_REDIS_PASSWORD", "drill_db": 12},
        fs_vault,
        tmp_path,
    )
    group = _asset("system", "group", {"members": ["registry", "features"]}, fs_vault, tmp_path)
    backed_up(group)
    try:
        run = start_run(
            plan=make_plan([{"key": "restore", "kind": "restore", "asset": "system"}]), mode="drill", by=commander
        )
        run_advance(run_id=run.pk)
        step = step_claim(step_id=StepRun.objects.get(run=run).pk, worker="doomed")
        assert step is not None
        # The first worker loads both members into their drill targets, then dies before saying so.
        status, *_ = connector_restore(step, lambda done, total: True)
        assert status == "done"
        assert model in model_names(drill_api, ()) and drill_db.dbsize() == 50
        StepRun.objects.filter(pk=step.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

        assert "succeeded" in step_execute(step_id=step.pk, worker="rescuer")
        step.refresh_from_db()
        assert (step.state, step.attempt) == (StepState.SUCCEEDED, 2), step.error
        assert step.evidence["connector"]["ok"] is True
        assert f"registry: model {model}" in step.evidence["cleared_before_restore"]

        run = drive(run)
        assert run.status == "succeeded" and run.cleaned_at is not None, run.error
        step.refresh_from_db()
        done = ledger_summary(step.ledger)
        assert done["left"] == [], done
        # With no drill backend store named, the deleted runs and experiment are kept, saying why (no purge).
        assert done["kept"] and all("drill_backend_store_uri" in line for line in done["kept"]), done
        assert f"registry: model {model}" in done["removed"]
        assert sorted(model_names(drill_api, ())) == [f"theirs-{model}"]  # the drill's model gone, theirs kept
        assert drill_db.dbsize() == 0 and live.dbsize() == 50
    finally:
        live.flushdb()
        drill_db.flushdb()
        drill_api.delete("/registered-models/delete", {"name": f"theirs-{model}"})
