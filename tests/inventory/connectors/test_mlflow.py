"""mlflow connector against real `mlflow server` processes (SQLite backend, served artifacts)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from inventory.connectors import Capture, CaptureIncomplete, TargetNotEmpty, Unreachable, get_connector
from inventory.connectors.mlflow_aliases import alias_at, alias_history
from inventory.connectors.mlflow_registry import ARTIFACT_DIR
from inventory.connectors.mlflow_rest import MlflowRest, proxy_path
from tests.inventory.conftest import free_port
from tests.inventory.connectors.conftest import Engine

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


def register_version(api: MlflowRest, name: str, files: dict[str, bytes], params: dict[str, str], auc: float) -> str:
    exp = api.post("/experiments/create", {"name": f"exp-{uuid.uuid4().hex[:8]}"})["experiment_id"]
    info = api.post("/runs/create", {"experiment_id": exp})["run"]["info"]
    api.post(
        "/runs/log-batch",
        {
            "run_id": info["run_id"],
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "metrics": [{"key": "auc", "value": auc, "timestamp": 0, "step": 0}],
        },
    )
    root = proxy_path(info["artifact_uri"]) + "/" + ARTIFACT_DIR
    for rel, data in files.items():
        api.upload(f"{root}/{rel}", data)
    created = api.post(
        "/model-versions/create",
        {
            "name": name,
            "source": f"{info['artifact_uri']}/{ARTIFACT_DIR}",
            "run_id": info["run_id"],
            "description": f"trained with {params}",
        },
    )
    return str(created["model_version"]["version"])


@pytest.fixture
def fraud(source_url: str) -> str:
    """A model with three versions (v1 deleted), a champion alias, a stage, tags and a description."""
    api = MlflowRest(source_url)
    name = f"fraud-{uuid.uuid4().hex[:6]}"
    api.post(
        "/registered-models/create",
        {
            "name": name,
            "description": "card fraud scorer",
            "tags": [{"key": "owner", "value": "risk-ml"}, {"key": "tier", "value": "1"}],
        },
    )
    for i in range(1, 4):
        register_version(
            api,
            name,
            {"MLmodel": f"flavor: v{i}".encode(), "weights/model.bin": bytes([i]) * 4096},
            {"depth": str(i)},
            0.8 + i / 100,
        )
    api.delete("/model-versions/delete", {"name": name, "version": "1"})
    api.post("/model-versions/set-tag", {"name": name, "version": "3", "key": "validated", "value": "yes"})
    api.post("/registered-models/alias", {"name": name, "alias": "champion", "version": "3"})
    api.post("/registered-models/alias", {"name": name, "alias": "challenger", "version": "2"})
    api.post(
        "/model-versions/transition-stage",
        {"name": name, "version": "3", "stage": "Production", "archive_existing_versions": False},
    )
    return name


def test_registry_round_trip_into_a_fresh_mlflow(engine: Engine, source_url: str, target_url: str, fraud: str) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    model = capture.details["models"][fraud]
    assert sorted(model["versions"]) == ["2", "3"] and model["aliases"] == {"champion": "3", "challenger": "2"}
    assert model["versions"]["3"]["artifacts"]["weights/model.bin"] == hashlib.sha256(b"\x03" * 4096).hexdigest()
    assert model["versions"]["2"]["run"]["params"] == {"depth": "2"}

    target = {"tracking_uri": target_url, "models": [fraud]}
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    report = conn.verify(capture=capture, target=target)
    assert report.ok, report.summary()
    api = MlflowRest(target_url)
    restored = api.get("/registered-models/get", name=fraud)["registered_model"]
    assert {a["alias"]: a["version"] for a in restored["aliases"]} == {"champion": "3", "challenger": "2"}

    api.post("/registered-models/alias", {"name": fraud, "alias": "champion", "version": "2"})
    assert [c.name for c in conn.verify(capture=capture, target=target).failures] == [f"{fraud} aliases"]
    conn.cleanup(target=target)
    assert api.get("/registered-models/search").get("registered_models", []) == []


def test_target_holding_the_model_is_refused_unless_replace(
    engine: Engine, source_url: str, target_url: str, fraud: str
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    api = MlflowRest(target_url)
    api.post("/registered-models/create", {"name": fraud, "description": "an older copy"})
    register_version(api, fraud, {"MLmodel": b"old"}, {"depth": "9"}, 0.5)
    target = {"tracking_uri": target_url, "models": [fraud]}
    try:
        with pytest.raises(TargetNotEmpty, match=f"already holds {fraud}"):  # the cheap look, before any read
            conn.refuse_full_target(target, capture)
        with pytest.raises(TargetNotEmpty, match=f"already holds {fraud}"):
            conn.restore(restored=restored, capture=capture, target=target)
        assert api.get("/registered-models/get", name=fraud)["registered_model"]["description"] == "an older copy"
        said: list[tuple[str, str]] = []
        conn.say = lambda phase, detail="": said.append((phase, detail))
        conn.restore(restored=restored, capture=capture, target=target, replace=True)
        writing = [detail for phase, detail in said if phase == "writing models, versions and artifacts"]
        assert writing[0] == "0 of 3 versions" and writing[-1] == "3 of 3 versions"
        assert [p for p, _ in said if p != "writing models, versions and artifacts"] == [
            "looking for the models in the target registry",
            "checking the restored registry against the capture",
            "swapping in the restored models",
        ]
        assert conn.verify(capture=capture, target=target).ok
        # Replaced in place, the model is the target's own again: a clean-up leaves it.
        conn.cleanup(target=target)
        assert api.get("/registered-models/get", name=fraud)["registered_model"]["description"] == "card fraud scorer"
    finally:
        api.delete("/registered-models/delete", {"name": fraud})


def test_a_version_whose_artifacts_are_gone_fails_the_capture(source_url: str, tmp_path: Path) -> None:
    api = MlflowRest(source_url)
    name = f"broken-{uuid.uuid4().hex[:6]}"
    api.post("/registered-models/create", {"name": name})
    register_version(api, name, {}, {"depth": "1"}, 0.7)  # registered, but no file was ever uploaded
    with pytest.raises(CaptureIncomplete, match=f"Version 1 of {name} has no artifacts"):
        get_connector("mlflow", {"tracking_uri": source_url, "models": [name]}).snapshot(tmp_path)


def test_discover_proposes_one_asset_per_model_with_owner_and_tier(source_url: str, fraud: str) -> None:
    found = (
        get_connector("mlflow", {"tracking_uri": source_url, "drill_tracking_uri": "http://127.0.0.1:1"})
        .discover()
        .proposals
    )
    proposals = {p.name: p for p in found}
    assert proposals[fraud].owner == "risk-ml" and proposals[fraud].labels == {"tier": "1"}
    config = proposals[fraud].config
    # The proposal keeps the registry's settings (its drill registry too), narrowed to its one model.
    assert (config["tracking_uri"], config["models"], config["drill_tracking_uri"]) == (
        source_url,
        [fraud],
        "http://127.0.0.1:1",
    )


def test_unreachable_registry(tmp_path: Path) -> None:
    with pytest.raises(Unreachable, match="cannot be reached"):
        get_connector("mlflow", {"tracking_uri": f"http://127.0.0.1:{free_port()}"}).snapshot(tmp_path)


def test_alias_history_answers_which_version_served_when() -> None:
    from inventory.connectors.base import utcnow

    t0 = utcnow()

    def cap(hours: int, version: str) -> Capture:
        return Capture("mlflow", t0 + timedelta(hours=hours), {"models": {"fraud": {"aliases": {"champion": version}}}})

    captures = [cap(0, "3"), cap(1, "3"), cap(2, "4"), cap(3, "4")]
    assert alias_history(captures)["fraud@champion"] == [
        {"version": "3", "from": t0.isoformat(), "to": (t0 + timedelta(hours=2)).isoformat()},
        {"version": "4", "from": (t0 + timedelta(hours=2)).isoformat(), "to": None},
    ]
    assert alias_at(captures, "fraud", "champion", t0 + timedelta(minutes=90)) == "3"
    assert alias_at(captures, "fraud", "champion", t0 - timedelta(minutes=1)) is None
