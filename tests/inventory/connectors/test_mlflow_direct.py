"""The MLflow connector reading and writing artifact folders directly (``artifacts_path``), against real servers."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import CaptureIncomplete, ConfigInvalid, ConnectorRefused, RestoreFailed, get_connector
from inventory.connectors.mlflow_direct import ArtifactSource, local_dir
from inventory.connectors.mlflow_rest import MlflowRest, proxy_path
from inventory.engine import LocalSource
from tests.inventory.connectors import test_mlflow
from tests.inventory.connectors.conftest import Engine
from tests.inventory.connectors.test_mlflow import register_version

fraud = test_mlflow.fraud  # the fixture: a model with versions 2 and 3, aliases, a stage and tags

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def roots(settings: Any, source_dir: Path, tmp_path: Path) -> None:
    """The source server's folder and this test's scratch folder are where connectors may read."""
    settings.SOURCE_ROOTS = [source_dir, tmp_path]


def version_folder(source_url: str, source_dir: Path, name: str, version: str) -> Path:
    got = MlflowRest(source_url).get("/model-versions/get", name=name, version=version)["model_version"]
    return source_dir / "artifacts" / proxy_path(got["source"])


def drop_model(url: str, name: str) -> None:
    api = MlflowRest(url)
    if api.get("/registered-models/search", filter=f"name='{name}'").get("registered_models"):
        api.delete("/registered-models/delete", {"name": name})


@pytest.mark.usefixtures("roots")
def test_direct_round_trip_reads_and_writes_the_artifact_folders(
    engine: Engine, source_url: str, source_dir: Path, target_url: str, target_dir: Path, fraud: str
) -> None:
    conn = get_connector(
        "mlflow", {"tracking_uri": source_url, "models": [fraud], "artifacts_path": str(source_dir / "artifacts")}
    )
    staging = engine.tmp / "look"
    staging.mkdir()
    snap = conn.snapshot(staging)
    # No staging copy: only the registry's description is written; the artifacts are read where they are.
    assert [p.name for p in staging.iterdir()] == ["registry.json"]
    assert isinstance(snap.source, ArtifactSource)
    listed = {f.path: f.size for f in snap.source.scan().files}
    assert listed["artifacts/0/3/weights/model.bin"] == 4096 and "registry.json" in listed

    capture, manifest = engine.backup(conn)
    assert "(artifacts read in the server's folder)" in conn.describe(capture)
    model = capture.details["models"][fraud]
    assert model["versions"]["3"]["artifacts"]["weights/model.bin"] == hashlib.sha256(b"\x03" * 4096).hexdigest()
    assert model["versions"]["2"]["artifacts"]["MLmodel"] == hashlib.sha256(b"flavor: v2").hexdigest()
    assert {f.path: f.sha256 for f in manifest.files}["artifacts/0/2/MLmodel"] == hashlib.sha256(
        b"flavor: v2"
    ).hexdigest()

    target = {"tracking_uri": target_url, "models": [fraud], "artifacts_path": str(target_dir / "artifacts")}
    try:
        conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        # Verified twice: by reading the target's folder, and by downloading through the target server
        # (so the files were written where that server serves them from).
        assert conn.verify(capture=capture, target=target).ok
        over_rest = conn.verify(capture=capture, target={"tracking_uri": target_url, "models": [fraud]})
        assert over_rest.ok, over_rest.summary()
        api = MlflowRest(target_url)
        restored = api.get("/registered-models/get", name=fraud)["registered_model"]
        assert {a["alias"]: a["version"] for a in restored["aliases"]} == {"champion": "3", "challenger": "2"}
        conn.cleanup(target=target)
        assert api.get("/registered-models/search", filter=f"name='{fraud}'").get("registered_models", []) == []
    finally:
        drop_model(target_url, fraud)


@pytest.mark.usefixtures("roots")
def test_a_folder_that_is_not_the_servers_store_is_refused_naming_the_version(
    source_url: str, fraud: str, tmp_path: Path
) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud], "artifacts_path": str(empty)})
    (tmp_path / "s1").mkdir()
    with pytest.raises(
        CaptureIncomplete,
        match=rf"Version \d of {fraud} has no artifacts in artifacts_path.*does not exist.*--artifacts-destination",
    ):
        conn.snapshot(tmp_path / "s1")


@pytest.mark.usefixtures("roots")
def test_an_out_of_date_copy_of_the_store_is_refused_naming_the_version(
    source_url: str, source_dir: Path, fraud: str, tmp_path: Path
) -> None:
    """A copy of the store that lacks a file the server lists: the listing comparison catches it."""
    copy = tmp_path / "copy"
    shutil.copytree(source_dir / "artifacts", copy)
    got = MlflowRest(source_url).get("/model-versions/get", name=fraud, version="3")["model_version"]
    (copy / proxy_path(got["source"]) / "weights" / "model.bin").unlink()
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud], "artifacts_path": str(copy)})
    (tmp_path / "s1").mkdir()
    with pytest.raises(
        CaptureIncomplete,
        match=rf"Version 3 of {fraud}: the files in artifacts_path differ .*missing weights/model.bin",
    ):
        conn.snapshot(tmp_path / "s1")


@pytest.mark.usefixtures("roots")
def test_a_version_whose_artifact_files_are_gone_is_refused_naming_it(
    source_url: str, source_dir: Path, tmp_path: Path
) -> None:
    api = MlflowRest(source_url)
    name = f"lost-{uuid.uuid4().hex[:6]}"
    api.post("/registered-models/create", {"name": name})
    for i in (1, 2):
        register_version(api, name, {"MLmodel": f"v{i}".encode()}, {"depth": str(i)}, 0.7)
    os.unlink(version_folder(source_url, source_dir, name, "2") / "MLmodel")
    conn = get_connector(
        "mlflow", {"tracking_uri": source_url, "models": [name], "artifacts_path": str(source_dir / "artifacts")}
    )
    with pytest.raises(CaptureIncomplete, match=f"Version 2 of {name} has no artifacts in artifacts_path.*is empty"):
        conn.snapshot(tmp_path)


@pytest.mark.usefixtures("roots")
def test_an_artifact_changed_after_it_was_hashed_fails_the_backup(
    engine: Engine, source_url: str, source_dir: Path, fraud: str
) -> None:
    conn = get_connector(
        "mlflow", {"tracking_uri": source_url, "models": [fraud], "artifacts_path": str(source_dir / "artifacts")}
    )
    staging = engine.tmp / "look"
    staging.mkdir()
    snap = conn.snapshot(staging)
    weights = version_folder(source_url, source_dir, fraud, "2") / "weights" / "model.bin"
    weights.write_bytes(b"retrained in place")
    item = next(f for f in snap.source.scan().files if f.path == "artifacts/0/2/weights/model.bin")
    with pytest.raises(Exception, match="changed after the capture hashed it"), snap.source.open(item) as reader:
        reader.read()


def test_artifact_locations_never_lead_outside_the_folder(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (store / "1" / "run").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    os.symlink(tmp_path / "secret", store / "1" / "run" / "out")
    assert local_dir(store, "mlflow-artifacts:/1/run/artifacts", field="artifacts_path") == store / "1/run/artifacts"
    assert local_dir(store, "mlflow-artifacts://host:5000/1/run", field="artifacts_path") == store / "1/run"
    assert local_dir(store, f"file://{store}/1/run", field="artifacts_path") == store / "1/run"
    for uri, why in [
        ("mlflow-artifacts:/1/../../secret", "does not name a folder inside"),
        ("mlflow-artifacts:/", "does not name a folder inside"),
        ("mlflow-artifacts:/1/run/out", "leads outside artifacts_path .* through a link"),
        (f"file://{tmp_path}/secret", "lies outside artifacts_path"),
        (f"file://{store}/1/../../secret", "without '..'"),
    ]:
        with pytest.raises(ConnectorRefused, match=why):
            local_dir(store, uri, field="artifacts_path")


def test_artifact_folders_follow_the_path_rules(settings: Any, source_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match=r"artifacts_path: .*climbs out of its folder"):
        get_connector("mlflow", {"tracking_uri": source_url, "artifacts_path": f"{tmp_path}/../x"})
    with pytest.raises(ConfigInvalid, match=r"artifacts_path: .*system folder"):
        get_connector("mlflow", {"tracking_uri": source_url, "artifacts_path": "/proc/self"})
    with pytest.raises(ConfigInvalid, match=r"drill_artifacts_path: .*give drill_tracking_uri"):
        get_connector("mlflow", {"tracking_uri": source_url, "drill_artifacts_path": str(tmp_path)})
    settings.SOURCE_ROOTS = [tmp_path / "allowed"]
    outside = get_connector("mlflow", {"tracking_uri": source_url, "artifacts_path": str(tmp_path / "other")})
    assert outside.source_paths() == [str(tmp_path / "other")]  # the asset form checks it against SOURCE_ROOTS
    with pytest.raises(ConnectorRefused, match=r"artifacts_path: .*outside the allowed folders"):
        outside.snapshot(tmp_path)


def test_a_drill_target_carries_the_drill_servers_folder(source_url: str, tmp_path: Path) -> None:
    conn = get_connector(
        "mlflow",
        {
            "tracking_uri": source_url,
            "artifacts_path": str(tmp_path / "src"),
            "drill_tracking_uri": "http://127.0.0.1:1",
            "drill_artifacts_path": str(tmp_path / "drill"),
        },
    )
    target = conn.drill_target(root=tmp_path, tag="t1") or {}
    assert (target["tracking_uri"], target["artifacts_path"]) == ("http://127.0.0.1:1", str(tmp_path / "drill"))
    assert target["drill_tracking_uri"] == target["drill_artifacts_path"] == ""


@pytest.mark.usefixtures("roots")
def test_restore_into_a_folder_the_target_does_not_serve_is_undone(
    engine: Engine, source_url: str, target_url: str, fraud: str, tmp_path: Path
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    wrong = tmp_path / "not-the-target-store"  # made by the restore, as a fresh server makes its folder
    target = {"tracking_uri": target_url, "models": [fraud], "artifacts_path": str(wrong)}
    try:
        with pytest.raises(RestoreFailed, match=rf"Version \d of {fraud}: the files in artifacts_path differ"):
            conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        assert not wrong.exists()  # what it made there is removed again
        assert (
            MlflowRest(target_url)
            .get("/registered-models/search", filter=f"name='{fraud}'")
            .get("registered_models", [])
            == []
        )
    finally:
        drop_model(target_url, fraud)


def test_without_a_folder_the_capture_goes_through_the_server(engine: Engine, source_url: str, fraud: str) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    assert conn.source_paths() == []
    staging = engine.tmp / "look"
    staging.mkdir()
    snap = conn.snapshot(staging)
    assert isinstance(snap.source, LocalSource)
    assert (staging / "artifacts/0/3/weights/model.bin").read_bytes() == b"\x03" * 4096  # downloaded
    assert "(artifacts read over REST)" in conn.describe(snap.capture)
