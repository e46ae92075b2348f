"""A consistency group: the fraud model's registry entry, feature store and vector index
captured as one point, restored into drill targets as a set, verified, and cleaned up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from inventory.connectors import EmbeddingMismatch, get_connector
from inventory.connectors.group import Group
from inventory.connectors.mlflow_rest import MlflowRest
from tests.inventory.connectors.conftest import REDIS_PASSWORD, Engine
from tests.inventory.connectors.test_mlflow import register_version

lancedb = pytest.importorskip("lancedb")
from tests.inventory.connectors.test_vector import make_model, make_rows  # noqa: E402

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def estate(
    tmp_path: Path, source_url: str, redis_port: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("DRP_TEST_REDIS_PASSWORD", REDIS_PASSWORD)
    name = f"fraud-{uuid.uuid4().hex[:6]}"
    api = MlflowRest(source_url)
    api.post("/registered-models/create", {"name": name, "tags": [{"key": "owner", "value": "risk-ml"}]})
    register_version(api, name, {"MLmodel": b"flavor: sklearn", "model.pkl": b"\x80" * 2048}, {"depth": "6"}, 0.93)
    api.post("/registered-models/alias", {"name": name, "alias": "champion", "version": "1"})
    live = redis.Redis(port=redis_port, db=3, password=REDIS_PASSWORD)
    for i in range(300):
        live.hset(f"fraud:card:{i}", mapping={"velocity": str(i % 9), "risk": str(i / 300)})
    weights = make_model(tmp_path / "embedder" / "weights.npy", seed=7)
    lancedb.connect(str(tmp_path / "index")).create_table("cases", data=make_rows(weights, 0, 400))
    yield {"model": name, "weights": weights, "tmp": tmp_path, "redis_port": redis_port, "mlflow": source_url}
    live.flushdb()


def _group(e: dict[str, Any]) -> Group:
    return Group(
        {
            "registry": get_connector("mlflow", {"tracking_uri": e["mlflow"], "models": [e["model"]]}),
            "features": get_connector(
                "redis",
                {"port": e["redis_port"], "db": 3, "prefix": "fraud:", "password": "env:DRP_TEST_REDIS_PASSWORD"},
            ),
            "index": get_connector(
                "vector",
                {
                    "uri": str(e["tmp"] / "index"),
                    "model_name": "tiny-proj",
                    "model_path": str(e["weights"]),
                    "normalized": True,
                },
            ),
        }
    )


def _targets(e: dict[str, Any], target_url: str, weights: Path) -> dict[str, Any]:
    return {
        "registry": {"tracking_uri": target_url, "models": [e["model"]]},
        "features": {"port": e["redis_port"], "db": 4, "prefix": "fraud:", "password": "env:DRP_TEST_REDIS_PASSWORD"},
        "index": {
            "uri": str(e["tmp"] / "drill-index"),
            "model_name": "tiny-proj",
            "model_path": str(weights),
            "normalized": True,
        },
    }


def test_group_restores_verifies_and_cleans_up_as_a_set(
    engine: Engine, estate: dict[str, Any], target_url: str
) -> None:
    group = _group(estate)
    capture, manifest = engine.backup(group)
    members = capture.details["members"]
    assert set(members) == {"registry", "features", "index"}
    assert capture.data_as_of == min(datetime.fromisoformat(m["capture"]["data_as_of"]) for m in members.values())
    assert {f.path.split("/")[0] for f in manifest.files} == {"registry", "features", "index"}

    targets = _targets(estate, target_url, estate["weights"])
    group.restore(restored=engine.restore_files(manifest), capture=capture, targets=targets)
    reports = group.verify(capture=capture, targets=targets)
    assert all(r.ok for r in reports.values()), {k: r.summary() for k, r in reports.items()}

    group.cleanup(targets=targets)
    assert MlflowRest(target_url).get("/registered-models/search").get("registered_models", []) == []
    assert redis.Redis(port=estate["redis_port"], db=4, password=REDIS_PASSWORD).dbsize() == 0
    assert not (estate["tmp"] / "drill-index").exists()


def test_a_member_refused_undoes_the_members_already_restored(
    engine: Engine, estate: dict[str, Any], target_url: str
) -> None:
    group = _group(estate)
    capture, manifest = engine.backup(group)
    other = make_model(estate["tmp"] / "other-embedder" / "weights.npy", seed=8)
    targets = _targets(estate, target_url, other)
    with pytest.raises(EmbeddingMismatch, match="Group member index: The embedding model"):
        group.restore(restored=engine.restore_files(manifest), capture=capture, targets=targets)
    # The registry and feature store restored before the refusal were removed again.
    assert MlflowRest(target_url).get("/registered-models/search").get("registered_models", []) == []
    assert redis.Redis(port=estate["redis_port"], db=4, password=REDIS_PASSWORD).dbsize() == 0
