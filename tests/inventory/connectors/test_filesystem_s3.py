"""filesystem and s3 connectors: a round trip through the real engine and a loopback S3 server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import (
    AuthFailed,
    ConnectorRefused,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
    get_connector,
)
from inventory.engine import LocalSource
from tests.inventory.connectors.conftest import Engine


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "live"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "model.bin").write_bytes(os.urandom(300_000))
    (root / "config.json").write_text('{"threshold": 0.8}')
    return root


def test_filesystem_round_trip_verifies_and_cleans_up(engine: Engine, tree: Path, tmp_path: Path) -> None:
    conn = get_connector("filesystem", {"path": str(tree)})
    capture, manifest = engine.backup(conn)
    assert capture.details["files"] == {"config.json": 18, "weights/model.bin": 300_000}
    target = {"path": str(tmp_path / "drill")}
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert (tmp_path / "drill" / "weights" / "model.bin").read_bytes() == (tree / "weights" / "model.bin").read_bytes()
    assert conn.verify(capture=capture, target=target).ok
    (tmp_path / "drill" / "config.json").write_text("tampered, longer than before")
    report = conn.verify(capture=capture, target=target)
    assert not report.ok and "files of another size" in report.summary()
    conn.cleanup(target=target)
    assert not (tmp_path / "drill").exists()


def test_filesystem_refuses_a_non_empty_target_unless_replace(engine: Engine, tree: Path, tmp_path: Path) -> None:
    conn = get_connector("filesystem", {"path": str(tree)})
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    live = tmp_path / "occupied"
    live.mkdir()
    (live / "old.txt").write_text("old")
    with pytest.raises(TargetNotEmpty, match="already holds files"):
        conn.restore(restored=restored, capture=capture, target={"path": str(live)})
    assert (live / "old.txt").exists()
    conn.restore(restored=restored, capture=capture, target={"path": str(live)}, replace=True)
    assert not (live / "old.txt").exists()
    assert conn.verify(capture=capture, target={"path": str(live)}).ok


def test_filesystem_file_changing_during_snapshot_fails_the_backup(tree: Path, tmp_path: Path) -> None:
    conn = get_connector("filesystem", {"path": str(tree)})
    snap = conn.snapshot(tmp_path)
    assert isinstance(snap.source, LocalSource)
    scan = snap.source.scan()
    item = next(f for f in scan.files if f.path == "config.json")
    with pytest.raises(SourceChanged, match=r"config\.json changed while"), snap.source.open(item) as reader:
        reader.read()
        (tree / "config.json").write_text('{"threshold": 0.9, "more": true}')


@pytest.fixture
def bucket(s3: Any, bucket_name: str) -> str:
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name


def _s3cfg(server: Any, bucket: str, prefix: str) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "prefix": prefix,
        "endpoint_url": server.endpoint_url,
        "region": "us-east-1",
        "access_key_id": "env:DRP_TEST_S3_KEY",
        "secret_access_key": "env:DRP_TEST_S3_SECRET",
    }


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRP_TEST_S3_KEY", "testing")
    monkeypatch.setenv("DRP_TEST_S3_SECRET", "testing")


def test_s3_round_trip_into_another_prefix(engine: Engine, s3: Any, s3_server: Any, bucket: str, s3_env: None) -> None:
    s3.put_object(Bucket=bucket, Key="models/fraud/model.bin", Body=b"x" * 5000)
    s3.put_object(Bucket=bucket, Key="models/fraud/meta/card.json", Body=b"{}")
    conn = get_connector("s3", _s3cfg(s3_server, bucket, "models/fraud"))
    capture, manifest = engine.backup(conn)
    assert capture.details["objects"] == {"meta/card.json": 2, "model.bin": 5000}
    target = _s3cfg(s3_server, bucket, "drill/fraud")
    restored = engine.restore_files(manifest)
    conn.restore(restored=restored, capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok
    with pytest.raises(TargetNotEmpty, match="already holds 2 objects"):
        conn.restore(restored=restored, capture=capture, target=target)
    conn.cleanup(target=target)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="drill/")
    assert not conn.verify(capture=capture, target=target).ok


def test_s3_object_rewritten_during_backup_fails(
    engine: Engine, s3: Any, s3_server: Any, bucket: str, s3_env: None
) -> None:
    s3.put_object(Bucket=bucket, Key="m/a.bin", Body=b"first")
    snap = get_connector("s3", _s3cfg(s3_server, bucket, "m")).snapshot(engine.tmp)
    item = snap.source.scan().files[0]
    with pytest.raises(SourceChanged, match=r"a\.bin was rewritten"), snap.source.open(item) as reader:
        reader.read()
        s3.put_object(Bucket=bucket, Key="m/a.bin", Body=b"second")


def test_s3_wrong_credentials_and_unreachable_endpoint(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRP_TEST_S3_KEY", "testing")
    monkeypatch.setenv("DRP_TEST_S3_SECRET", "testing")
    from tests.inventory.conftest import free_port

    dead = {**_s3cfg(s3_server, bucket, "m"), "endpoint_url": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(Unreachable, match="cannot be reached"):
        get_connector("s3", dead).snapshot(Path("."))
    missing = _s3cfg(s3_server, "no-such-bucket-here", "m")
    with pytest.raises((Unreachable, AuthFailed), match="no-such-bucket-here"):
        get_connector("s3", missing).snapshot(Path("."))


def test_s3_replace_keeps_the_old_objects_until_the_new_ones_verify(
    engine: Engine, s3: Any, s3_server: Any, bucket: str, s3_env: None
) -> None:
    s3.put_object(Bucket=bucket, Key="models/fraud/model.bin", Body=b"n" * 5000)
    s3.put_object(Bucket=bucket, Key="models/fraud/card.json", Body=b'{"v": 2}')
    conn = get_connector("s3", _s3cfg(s3_server, bucket, "models/fraud"))
    capture, manifest = engine.backup(conn)
    # The live prefix moves on: a rewritten model and an object the point never held.
    s3.put_object(Bucket=bucket, Key="models/fraud/model.bin", Body=b"o" * 5000)
    s3.put_object(Bucket=bucket, Key="models/fraud/extra.txt", Body=b"later")
    target = _s3cfg(s3_server, bucket, "models/fraud")

    def objects() -> dict[str, bytes]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="models/").get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    before = objects()
    damaged = engine.restore_files(manifest)
    (damaged / "model.bin").write_bytes(b"x" * 5000)  # same size, other bytes: only content catches it
    with pytest.raises(RestoreFailed, match="objects whose content differs"):
        conn.restore(restored=damaged, capture=capture, target=target, replace=True)
    assert objects() == before, "a failed replace leaves the old set as it was, with no staging objects"

    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target, replace=True)
    assert objects() == {"models/fraud/model.bin": b"n" * 5000, "models/fraud/card.json": b'{"v": 2}'}
    assert conn.verify(capture=capture, target=target).ok


def test_s3_replace_of_a_whole_bucket_is_refused(
    engine: Engine, s3: Any, s3_server: Any, bucket: str, s3_env: None
) -> None:
    s3.put_object(Bucket=bucket, Key="a.bin", Body=b"a")
    conn = get_connector("s3", _s3cfg(s3_server, bucket, ""))
    capture, manifest = engine.backup(conn)
    with pytest.raises(ConnectorRefused, match="Replacing a whole bucket is refused"):
        conn.restore(restored=engine.restore_files(manifest), capture=capture, target=conn.config_json(), replace=True)
    assert s3.get_object(Bucket=bucket, Key="a.bin")["Body"].read() == b"a"
