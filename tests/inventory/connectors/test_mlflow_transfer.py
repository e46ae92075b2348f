"""MLflow artifacts move several at a time, and a restore checks what it sends instead of downloading it back.

Against real ``mlflow server`` processes; the REST client is only watched (which thread
called it, how often), never replaced.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.connectors import get_connector
from inventory.connectors.errors import RestoreFailed
from inventory.connectors.mlflow_rest import MlflowRest
from tests.inventory.connectors.conftest import Engine
from tests.inventory.connectors.test_mlflow import fraud  # noqa: F401 - the fixture

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts downloads and uploads by the kind of thread that made them."""
    seen: Counter[str] = Counter()
    download, upload = MlflowRest.download, MlflowRest.upload

    def kind() -> str:
        return "transfer" if threading.current_thread().name.startswith("mlflow-transfer") else "main"

    def watched_download(self: MlflowRest, path: str) -> Iterator[bytes]:
        seen[f"download {kind()}"] += 1
        return download(self, path)

    def watched_upload(self: MlflowRest, path: str, data: bytes) -> None:
        seen[f"upload {kind()}"] += 1
        upload(self, path, data)

    monkeypatch.setattr(MlflowRest, "download", watched_download)
    monkeypatch.setattr(MlflowRest, "upload", watched_upload)
    return seen


def test_artifacts_move_on_transfer_threads_and_restore_does_not_download_them_again(
    engine: Engine,
    source_url: str,
    target_url: str,
    fraud: str,  # noqa: F811 - the fixture
    calls: Counter[str],
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    files = sum(len(v["artifacts"]) for v in capture.details["models"][fraud]["versions"].values())
    assert calls == {"download transfer": files}, "the snapshot fetched every artifact on transfer threads"

    calls.clear()
    target = {"tracking_uri": target_url, "models": [fraud]}
    try:
        conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
        assert calls == {"upload transfer": files}, "uploaded on transfer threads, nothing downloaded back"
        calls.clear()
        report = conn.verify(capture=capture, target=target)
        assert report.ok, report.summary()
        assert calls == {"download transfer": files}, "verify still downloads and hashes every artifact"
    finally:
        conn.cleanup(target=target)


def test_a_restored_artifact_that_differs_from_the_capture_fails_the_restore_before_any_version(
    engine: Engine,
    source_url: str,
    target_url: str,
    fraud: str,  # noqa: F811 - the fixture
    calls: Counter[str],
) -> None:
    conn = get_connector("mlflow", {"tracking_uri": source_url, "models": [fraud]})
    capture, manifest = engine.backup(conn)
    restored: Path = engine.restore_files(manifest)
    weights = next(restored.rglob("model.bin"))
    weights.write_bytes(bytes(len(weights.read_bytes())))  # same size, other bytes
    target = {"tracking_uri": target_url, "models": [fraud]}
    calls.clear()
    try:
        with pytest.raises(RestoreFailed, match="does not match the hash the capture recorded"):
            conn.restore(restored=restored, capture=capture, target=target)
        assert MlflowRest(target_url).get("/registered-models/search").get("registered_models", []) == []
    finally:
        conn.cleanup(target=target)
