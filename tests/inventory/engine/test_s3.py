"""S3Vault and S3Source against a real S3-compatible server (moto) on a loopback port."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError

from inventory.engine import (
    FilesystemVault,
    KeyRing,
    ObjectExists,
    ObjectLocked,
    S3Config,
    S3Vault,
    SourceMissing,
    VaultUnavailable,
    backup_tree,
    delete_point,
    point_is_complete,
    restore_tree,
    source_from_uri,
    vault_from_uri,
    verify_point,
)
from tests.inventory.engine.conftest import later, mixed_files, read_tree, write_tree

MiB = 1024 * 1024


def locked_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def versioned_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def plain_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name)
    return name


def test_bucket_capabilities_are_detected(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    assert S3Vault(plain_bucket(s3, bucket_name + "-p"), config=s3_server).capabilities() == (False, False)
    assert S3Vault(versioned_bucket(s3, bucket_name + "-v"), config=s3_server).capabilities() == (True, False)
    locked = S3Vault(locked_bucket(s3, bucket_name + "-l"), config=s3_server)
    assert locked.capabilities() == (True, True)
    assert locked.worm


def test_backup_into_an_object_lock_bucket_is_compliance_locked(
    s3: Any, s3_server: S3Config, bucket_name: str, keyring: KeyRing, tmp_path: Path
) -> None:
    files = mixed_files() | {"large/adapter.bin": os.urandom(11 * MiB + 17)}
    src = write_tree(tmp_path / "src", files)
    vault = S3Vault(locked_bucket(s3, bucket_name), "dr/vault", config=s3_server, part_size=5 * MiB)
    until = later(days=3).replace(microsecond=0)
    manifest = backup_tree(
        source=src, vault=vault, point_prefix="asset/p1", keyring=keyring, key_id="k1", retain_until=until
    )
    assert point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)

    large = next(entry for entry in manifest.files if entry.path == "large/adapter.bin")
    head = s3.head_object(Bucket=bucket_name, Key=f"dr/vault/{large.object_key}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == until
    assert head["ContentLength"] == large.stored_size
    assert "-3" in head["ETag"], "an 11 MiB object in 5 MiB parts is a three-part upload"
    assert all(entry.version_id for entry in manifest.files), "versions are pinned in the manifest"

    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert read_tree(tmp_path / "out") == files
    assert verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True).ok


def test_the_engine_and_the_bucket_both_refuse_an_early_delete(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    vault = S3Vault(locked_bucket(s3, bucket_name), config=s3_server)
    info = vault.put("p/o", [b"evidence"], retain_until=later(days=1))
    with pytest.raises(ObjectLocked, match="cannot be deleted"):
        vault.delete("p/o")
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket_name, Key="p/o", VersionId=info.version_id)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with vault.open("p/o") as stream:
        assert stream.read() == b"evidence"


def test_an_object_is_never_overwritten(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    vault = S3Vault(locked_bucket(s3, bucket_name), config=s3_server)
    vault.put("p/locked", [b"one"], retain_until=later())
    with pytest.raises(ObjectLocked):
        vault.put("p/locked", [b"two"], retain_until=later())
    vault.put("p/free", [b"one"], retain_until=None)
    with pytest.raises(ObjectExists):
        vault.put("p/free", [b"two"], retain_until=None)


def test_delete_after_object_lock_expiry_removes_every_version(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    vault = S3Vault(locked_bucket(s3, bucket_name), config=s3_server)
    until = later(days=1)
    vault.put("p/o", [b"short-lived"], retain_until=until)
    with pytest.raises(ObjectLocked):
        vault.delete("p/o")
    # moto serves from a thread of this process, so the bucket's lock and the
    # engine's check both read the travelled clock: no waiting for real time.
    with time_machine.travel(until + timedelta(minutes=1)):
        vault.delete("p/o")
    versions = s3.list_object_versions(Bucket=bucket_name, Prefix="p/o")
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []


def test_restore_reads_the_pinned_version_even_if_someone_writes_over_it(
    s3: Any, s3_server: S3Config, bucket_name: str, keyring: KeyRing, tmp_path: Path
) -> None:
    src = write_tree(tmp_path / "src", {"model.bin": os.urandom(5000)})
    vault = S3Vault(versioned_bucket(s3, bucket_name), config=s3_server)
    manifest = backup_tree(
        source=src, vault=vault, point_prefix="a/p", keyring=keyring, key_id="k1", retain_until=later()
    )
    entry = manifest.files[0]
    s3.put_object(Bucket=bucket_name, Key=entry.object_key, Body=b"rogue overwrite")  # bypasses the engine
    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert (tmp_path / "out" / "model.bin").read_bytes() == (src / "model.bin").read_bytes()


def test_retention_without_object_lock_is_enforced_by_the_engine(
    s3: Any, s3_server: S3Config, bucket_name: str, keyring: KeyRing, tmp_path: Path
) -> None:
    moment = [datetime.now(UTC)]
    vault = S3Vault(versioned_bucket(s3, bucket_name), config=s3_server, clock=lambda: moment[0])
    assert not vault.worm
    src = write_tree(tmp_path / "src", {"a.txt": b"a", "b/c.txt": b"c"})
    backup_tree(
        source=src, vault=vault, point_prefix="a/p", keyring=keyring, key_id="k1", retain_until=later(2), pack_below=0
    )
    with pytest.raises(ObjectLocked):
        delete_point(vault=vault, point_prefix="a/p")
    moment[0] += timedelta(days=3)
    assert delete_point(vault=vault, point_prefix="a/p") == 3  # two objects and the manifest
    assert list(vault.list("a/p")) == []
    assert s3.list_object_versions(Bucket=bucket_name).get("Versions", []) == []


def test_backup_from_an_s3_source(
    s3: Any, s3_server: S3Config, bucket_name: str, keyring: KeyRing, tmp_path: Path
) -> None:
    source_bucket = plain_bucket(s3, bucket_name + "-src")
    files = {"embeddings/index.faiss": os.urandom(70_000), "embeddings/meta/ids.json": b"[1, 2, 3]"}
    for key, data in files.items():
        s3.put_object(Bucket=source_bucket, Key=f"team/{key}", Body=data)
    s3.put_object(Bucket=source_bucket, Key="team/embeddings/folder/", Body=b"")
    s3.put_object(Bucket=source_bucket, Key="elsewhere/x", Body=b"not in the prefix")
    vault = FilesystemVault(tmp_path / "vault")
    manifest = backup_tree(
        source=f"s3://{source_bucket}/team",
        s3=s3_server,
        vault=vault,
        point_prefix="a/p",
        keyring=keyring,
        key_id="k1",
        retain_until=later(),
    )
    assert manifest.source == f"s3://{source_bucket}/team"
    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert read_tree(tmp_path / "out") == files


def test_a_missing_source_bucket_or_prefix(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    with pytest.raises(SourceMissing, match="does not exist"):
        source_from_uri(f"s3://{bucket_name}-nope/x", s3=s3_server).scan()
    plain_bucket(s3, bucket_name)
    with pytest.raises(SourceMissing, match="holds no objects"):
        source_from_uri(f"s3://{bucket_name}/empty", s3=s3_server).scan()


def test_a_missing_vault_bucket_is_unavailable(s3_server: S3Config, bucket_name: str, keyring: KeyRing, tmp_path):
    vault = vault_from_uri(f"s3://{bucket_name}-gone/prefix", s3=s3_server)
    src = write_tree(tmp_path / "src", {"a": b"a"})
    with pytest.raises(VaultUnavailable):
        backup_tree(source=src, vault=vault, point_prefix="a/p", keyring=keyring, key_id="k1", retain_until=later())


def test_an_aborted_upload_leaves_nothing_behind(s3: Any, s3_server: S3Config, bucket_name: str) -> None:
    vault = S3Vault(plain_bucket(s3, bucket_name), config=s3_server, part_size=5 * MiB)

    def broken():
        yield os.urandom(6 * MiB)
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        vault.put("p/o", broken(), retain_until=None)
    assert vault.stat("p/o") is None
    assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []


def test_secrets_stay_out_of_repr() -> None:
    config = S3Config(endpoint_url="http://127.0.0.1:1", access_key_id="AKIA-ID", secret_access_key="very-secret")
    assert "very-secret" not in repr(config) and "AKIA-ID" not in repr(config)
