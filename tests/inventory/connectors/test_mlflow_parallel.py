"""Capture and restore of a registry with many versions, written and read several versions at a time.

Against real ``mlflow server`` processes: the restored versions keep their numbers, aliases,
stages and each its own source run however the worker threads interleave, and a failure
on one worker thread fails the whole operation with its reason and leaves nothing behind.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from inventory.connectors import CaptureIncomplete, get_connector
from inventory.connectors.errors import RestoreFailed
from inventory.connectors.mlflow_registry import ARTIFACT_DIR, THREADS, experiment_id
from inventory.connectors.mlflow_rest import MlflowRest, proxy_path
from tests.inventory.connectors.conftest import Engine

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]

VERSIONS = 2 * THREADS + 2  # more versions than threads, and than the restore prepares ahead
GAPS = {1, 7, VERSIONS - 3}


def add_version(api: MlflowRest, exp: str, name: str, number: int, *, files: bool = True) -> None:
    info = api.post("/runs/create", {"experiment_id": exp})["run"]["info"]
    api.post(
        "/runs/log-batch",
        {
            "run_id": info["run_id"],
            "params": [{"key": "number", "value": str(number)}],
            "metrics": [{"key": "auc", "value": number / 100, "timestamp": 0, "step": 0}],
            "tags": [{"key": "trained_for", "value": f"v{number}"}],
        },
    )
    root = proxy_path(info["artifact_uri"]) + "/" + ARTIFACT_DIR
    if files:
        api.upload(f"{root}/MLmodel", f"flavor: v{number}".encode())
        api.upload(f"{root}/weights/model.bin", bytes([number % 256]) * (1000 + number))
    created = api.post(
        "/model-versions/create",
        {"name": name, "source": f"{info['artifact_uri']}/{ARTIFACT_DIR}", "run_id": info["run_id"]},
    )["model_version"]
    assert created["version"] == str(number)


def make_model(api: MlflowRest, *, missing: int | None = None) -> str:
    """A model of ``VERSIONS`` versions, ``GAPS`` deleted, aliases and stages on some; ``missing`` has no files."""
    name = f"many-{uuid.uuid4().hex[:6]}"
    api.post("/registered-models/create", {"name": name, "description": "many versions"})
    exp = api.post("/experiments/create", {"name": f"exp-{name}"})["experiment_id"]
    for number in range(1, VERSIONS + 1):
        add_version(api, exp, name, number, files=number != missing)
    for gap in GAPS:
        api.delete("/model-versions/delete", {"name": name, "version": str(gap)})
    for alias, version in {"champion": VERSIONS, "challenger": 12, "first": 2}.items():
        api.post("/registered-models/alias", {"name": name, "alias": alias, "version": str(version)})
    for version, stage in {VERSIONS: "Production", 12: "Staging", 3: "Archived"}.items():
        api.post(
            "/model-versions/transition-stage",
            {"name": name, "version": str(version), "stage": stage, "archive_existing_versions": False},
        )
    return name


def transfer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mlflow-transfer")]


def active_runs(api: MlflowRest) -> int:
    exp = experiment_id(api, "drp-restored")
    return len(list(api.post_pages("/runs/search", "runs", {"experiment_ids": [exp], "max_results": 1000})))


def test_a_parallel_restore_keeps_every_version_number_alias_stage_and_source_run(
    engine: Engine, source_url: str, target_url: str
) -> None:
    name = make_model(MlflowRest(source_url))
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [name]})
    capture, manifest = engine.backup(conn)
    captured = capture.details["models"][name]["versions"]
    kept = [str(n) for n in range(1, VERSIONS + 1) if n not in GAPS]
    assert list(captured) == kept
    # Every version's run was read (in a few searches) and paired with its own version.
    assert all(captured[v]["run"]["params"] == {"number": v} for v in kept)
    assert all(captured[v]["run"]["tags"] == {"trained_for": f"v{v}"} for v in kept)

    target = {"tracking_uri": target_url, "models": [name]}
    try:
        conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        report = conn.verify(capture=capture, target=target)
        assert report.ok, report.summary()
        api = MlflowRest(target_url)
        model = api.get("/registered-models/get", name=name)["registered_model"]
        assert {a["alias"]: a["version"] for a in model["aliases"]} == {
            "champion": str(VERSIONS),
            "challenger": "12",
            "first": "2",
        }
        listed = api.get("/model-versions/search", filter=f"name='{name}'", max_results=1000)["model_versions"]
        assert sorted((v["version"] for v in listed), key=int) == kept
        stages = {v["version"]: v["current_stage"] for v in listed if v["current_stage"] != "None"}
        assert stages == {str(VERSIONS): "Production", "12": "Staging", "3": "Archived"}
        for version in listed:
            run = api.get("/runs/get", run_id=version["run_id"])["run"]
            params = {p["key"]: p["value"] for p in run["data"]["params"]}
            assert params == {"number": version["version"]}, "each version points at its own restored run"
            assert run["info"]["status"] == "FINISHED"
        assert transfer_threads() == []
    finally:
        conn.cleanup(target=target)


def test_a_version_missing_its_files_fails_the_whole_capture_on_its_worker_thread(
    source_url: str, tmp_path: Path
) -> None:
    name = make_model(MlflowRest(source_url), missing=VERSIONS - 1)
    with pytest.raises(CaptureIncomplete, match=f"Version {VERSIONS - 1} of {name} has no artifacts"):
        get_connector("mlflow", {"tracking_uri": source_url, "models": [name]}).snapshot(tmp_path)
    assert transfer_threads() == [], "no worker is still fetching once the capture has failed"


def test_an_artifact_failing_on_a_worker_thread_fails_the_restore_and_removes_what_it_wrote(
    engine: Engine, source_url: str, target_url: str
) -> None:
    name = make_model(MlflowRest(source_url))
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [name]})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    weights = next(p for p in restored.rglob("model.bin") if p.parent.parent.name == str(VERSIONS - 1))
    weights.write_bytes(bytes(weights.stat().st_size))  # same size, other bytes: caught by its hash
    target = {"tracking_uri": target_url, "models": [name]}
    api = MlflowRest(target_url)
    experiment_id(api, "drp-restored")
    runs_before = active_runs(api)
    try:
        with pytest.raises(RestoreFailed, match="does not match the hash the capture recorded"):
            conn.restore(restored=restored, capture=capture, target=target)
        assert api.get("/registered-models/search").get("registered_models", []) == []
        assert active_runs(api) == runs_before, "the source runs it had created are deleted"
        assert transfer_threads() == []
    finally:
        conn.cleanup(target=target)


def test_a_run_with_more_params_and_tags_than_one_batch_is_restored(
    engine: Engine, source_url: str, target_url: str
) -> None:
    api = MlflowRest(source_url)
    name = f"wide-{uuid.uuid4().hex[:6]}"
    api.post("/registered-models/create", {"name": name})
    exp = api.post("/experiments/create", {"name": f"exp-{name}"})["experiment_id"]
    info = api.post("/runs/create", {"experiment_id": exp})["run"]["info"]
    for start in range(0, 250, 100):
        api.post(
            "/runs/log-batch",
            {
                "run_id": info["run_id"],
                "params": [{"key": f"p{i}", "value": str(i)} for i in range(start, min(start + 100, 250))],
                "tags": [{"key": f"t{i}", "value": str(i)} for i in range(start, min(start + 100, 150))],
            },
        )
    api.upload(proxy_path(info["artifact_uri"]) + f"/{ARTIFACT_DIR}/MLmodel", b"flavor: wide")
    source = f"{info['artifact_uri']}/{ARTIFACT_DIR}"
    api.post("/model-versions/create", {"name": name, "source": source, "run_id": info["run_id"]})
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [name]})
    capture, manifest = engine.backup(conn)
    assert len(capture.details["models"][name]["versions"]["1"]["run"]["params"]) == 250
    target = {"tracking_uri": target_url, "models": [name]}
    try:
        conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        report = conn.verify(capture=capture, target=target)
        assert report.ok, report.summary()
        target_api = MlflowRest(target_url)
        run_id = target_api.get("/model-versions/get", name=name, version="1")["model_version"]["run_id"]
        tags = target_api.get("/runs/get", run_id=run_id)["run"]["data"]["tags"]
        assert {t["key"] for t in tags} >= {f"t{i}" for i in range(150)}
    finally:
        conn.cleanup(target=target)
