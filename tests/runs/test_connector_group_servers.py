"""Issue 14's "done when" through a run: the fraud model's registry entry (a real MLflow server), its
feature store (a real Redis) and its vector index (LanceDB) restored as one consistency group into
drill targets, each verified as evidence, and the drill's clean-up leaving nothing behind."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from incidents.runs.certificate.models import RunCertificate
from inventory import demo_connectors
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.models import Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.connectors.conftest import REDIS_PASSWORD
from tests.inventory.connectors.test_mlflow import register_version
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = [pytest.mark.django_db, pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def _asset(name: str, kind: str, config: dict[str, Any], vault: Vault, tmp_path: Path) -> Any:
    return AssetFactory.create(
        name=name,
        source_uri=str(tmp_path / "unused" / name),
        connector=kind,
        connector_config=config,
        vault=vault,
        policy=RecoveryPolicyFactory.create(name=f"policy-{name}", rto_minutes=30, rpo_minutes=60),
    )


def test_a_drill_restores_registry_features_and_index_as_one_group_and_leaves_nothing(
    tmp_path: Path,
    keys: Path,
    fs_vault: Vault,
    source_url: str,
    target_url: str,
    redis_port: int,
    commander: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    model = f"fraud-{uuid.uuid4().hex[:6]}"
    api = MlflowRest(source_url)
    api.post("/registered-models/create", {"name": model})
    register_version(api, model, {"MLmodel": b"flavor: sklearn", "model.pkl": b"\x80" * 4096}, {"depth": "6"}, 0.93)
    api.post("/registered-models/alias", {"name": model, "alias": "champion", "version": "1"})
    live = redis.Redis(port=redis_port, db=5, password=REDIS_PASSWORD)
    live.flushdb()
    for i in range(200):
        live.hset(f"fraud:card:{i}", mapping={"velocity": str(i % 9)})
    drill_redis = redis.Redis(port=redis_port, db=6, password=REDIS_PASSWORD)
    drill_redis.flushdb()

    _asset(
        "fraud-registry",
        "mlflow",
        {"tracking_uri": source_url, "models": [model], "drill_tracking_uri": target_url},
        fs_vault,
        tmp_path,
    )
    _asset(
        "fraud-features",
        "redis",
        {"port": redis_port, "db": 5, "prefix": "fraud:", "password": "env:DRP_TEST_REDIS_PASSWORD", "drill_db": 6},
        fs_vault,
        tmp_path,
    )
    _asset("fraud-index", "vector", demo_connectors.articles_index(tmp_path / "kb"), fs_vault, tmp_path)
    group = _asset(
        "fraud-system", "group", {"members": ["fraud-registry", "fraud-features", "fraud-index"]}, fs_vault, tmp_path
    )
    backed_up(group)

    plan = make_plan(
        [
            {"key": "restore", "kind": "restore", "asset": "fraud-system"},
            {"key": "verify", "kind": "verify", "asset": "fraud-system", "after": ["restore"]},
        ]
    )
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    members = run.steps.get(key="verify").evidence["connector"]["members"]
    assert {name: m["ok"] for name, m in members.items()} == {
        "fraud-registry": True,
        "fraud-features": True,
        "fraud-index": True,
    }
    registry_checks = {c["name"] for c in members["fraud-registry"]["checks"]}
    assert f"{model} v1 artifact hashes" in registry_checks

    # Nothing left: the drill registry is empty, the drill Redis db is empty, no drill folders.
    assert MlflowRest(target_url).get("/registered-models/search").get("registered_models", []) == []
    assert drill_redis.dbsize() == 0
    assert not (settings.VAR_DIR / "drills" / str(run.public_id)).exists()
    # The sources were never touched.
    assert live.dbsize() == 200
    assert api.get("/registered-models/get", name=model)["registered_model"]["name"] == model

    body = json.loads(RunCertificate.objects.get(run=run).document)["certificate"]
    assert body["lineage"]["status"] == "passed"
    assert body["verdict"] == "proven"
    live.flushdb()
