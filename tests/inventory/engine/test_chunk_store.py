"""The chunk store: dedup across points, compression, restore and verify of format-2 points."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import FilesystemVault, KeyRing, S3Config, backup_tree, restore_tree, verify_point
from inventory.engine.chunks import ChunkedManifest, Chunker, ChunkKeys, backup_chunked, read_manifest_v2
from inventory.engine.chunks import parent as parent_module
from inventory.engine.chunks.store import INDEX_DIR, PACKS_DIR
from inventory.engine.errors import (
    CorruptObject,
    DataMissing,
    IntegrityError,
    ManifestInvalid,
    ObjectExists,
)
from inventory.engine.vaults import Vault

from .conftest import later, make_keyring, read_tree, write_tree

AVG = 64 * 1024  # small chunks keep the trees small


def tree(root: Path) -> Path:
    rng = os.urandom
    files = {
        "model/weights.safetensors": rng(900_000),
        "data/log.txt": b"2026-11-30 INFO served request in 12 ms\n" * 20_000,
        "data/copy-of-log.txt": b"2026-11-30 INFO served request in 12 ms\n" * 20_000,
        "small/a.json": b'{"a": 1}',
        "small/b.json": b'{"b": 2}',
        "empty.bin": b"",
    }
    return write_tree(root, files)


def stored_bytes(vault: FilesystemVault) -> int:
    infos = [vault.stat(key) for key in vault.list(PACKS_DIR)]
    return sum(info.size for info in infos if info is not None)


def backup(src: Path, vault: Vault, keyring: KeyRing, point: str) -> ChunkedManifest:
    return backup_chunked(
        source=src,
        vault=vault,
        point_prefix=point,
        keyring=keyring,
        key_id="k1",
        retain_until=later(),
        average_chunk=AVG,
    )


def test_chunker_cuts_by_content_so_an_insertion_moves_only_nearby_chunks() -> None:
    import io

    data = os.urandom(2_000_000)
    chunker = Chunker(AVG)
    before = [bytes(c) for c in chunker.chunks(io.BytesIO(data), len(data))]
    edited = data[:1_000_000] + b"inserted" + data[1_000_000:]
    after = [bytes(c) for c in chunker.chunks(io.BytesIO(edited), len(edited))]
    assert b"".join(before) == data and b"".join(after) == edited
    assert len(set(before) & set(after)) >= len(before) - 3
    assert 20 < len(before) < 60  # about 64 KiB on average


def data_pack(manifest: ChunkedManifest, keyring: KeyRing) -> str:
    """The pack of the first data chunk (a point's packs also hold the parts of its manifest)."""
    return next(ref.pack for entry in manifest.files(keyring) for ref in entry.chunks)


def test_round_trip_and_second_backup_of_unchanged_tree_stores_nothing_new(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parent_module, "RACY_NS", 100_000_000)
    src = tree(tmp_path / "src")
    time.sleep(0.2)  # each file's change stamp is trusted, so its manifest line is the same both times
    first = backup(src, vault, keyring, "asset/p1")
    assert first.totals.files == 6 and first.totals.reused_bytes > 0  # the copied log dedupes within one point
    assert first.totals.stored_new_bytes < 900_000 + 20_000  # the weights as they are, the text compressed
    assert first.totals.compression_ratio and first.totals.compression_ratio > 1.5
    size_after_first = stored_bytes(vault)
    assert size_after_first < 1_100_000  # weights stored as is, the two logs once and compressed

    second = backup(src, vault, keyring, "asset/p2")
    assert second.totals.new_bytes == 0 and second.totals.new_chunks == 0
    assert second.totals.reused_bytes == second.totals.bytes
    # Its entries are p1's parts. How many parts that is depends on the entry lines, which name
    # packs by random names: one, now and then two.
    assert second.totals.manifest_parts == first.totals.manifest_parts and second.totals.manifest_new_parts == 0
    assert stored_bytes(vault) == size_after_first

    target = tmp_path / "restored"
    manifest = read_manifest_v2(vault=vault, point="asset/p2", keyring=keyring)
    result = restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert result.files_restored == 6
    assert read_tree(target) == read_tree(src)
    assert verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True).ok


def test_a_one_percent_change_stores_about_the_changed_bytes(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(1_000_000) for i in range(4)})
    backup(src, vault, keyring, "a/p1")
    before = stored_bytes(vault)
    with open(src / "f2.bin", "ab") as handle:
        handle.write(os.urandom(40_000))
    second = backup(src, vault, keyring, "a/p2")
    added = stored_bytes(vault) - before
    assert second.totals.new_bytes < 40_000 + 4 * 4 * AVG  # the tail chunk of f2 plus the appended bytes
    assert added < 1.3 * (40_000 + 4 * AVG)


def test_the_vault_keeps_a_signed_chunk_index(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    src = tree(tmp_path / "src")
    backup(src, vault, keyring, "asset/p1")
    assert list(vault.list(INDEX_DIR)) and list(vault.list(PACKS_DIR))
    from inventory.engine.chunks import ChunkStore

    store = ChunkStore(vault=vault, keyring=keyring, key_id="k1")
    assert store.load_index() > 0
    other = make_keyring("k1")
    with pytest.raises(ManifestInvalid, match="signature"):
        ChunkStore(vault=vault, keyring=other, key_id="k1").load_index()


def test_points_are_never_rewritten(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    src = tree(tmp_path / "src")
    backup(src, vault, keyring, "asset/p1")
    with pytest.raises(ObjectExists):
        backup(src, vault, keyring, "asset/p1")


def test_format_1_points_still_restore_beside_format_2(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = tree(tmp_path / "src")
    old = backup_tree(
        source=src, vault=vault, point_prefix="asset/old", keyring=keyring, key_id="k1", retain_until=later()
    )
    backup(src, vault, keyring, "asset/new")
    assert verify_point(vault=vault, manifest=old, keyring=keyring, decrypt=True).ok
    restore_tree(vault=vault, manifest=old, target_dir=tmp_path / "old", keyring=keyring)
    assert read_tree(tmp_path / "old") == read_tree(src)


def _damage(vault: FilesystemVault, key: str, offset: int, *, truncate: bool = False) -> None:
    path = vault.path_of(key)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    if truncate:
        data = data[:offset]
    else:
        data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing"])
def test_damaged_chunks_fail_naming_file_and_chunk_and_leave_the_target_as_it_was(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, damage: str
) -> None:
    src = write_tree(tmp_path / "src", {"only.bin": os.urandom(300_000)})
    manifest = backup(src, vault, keyring, "asset/p1")
    target = write_tree(tmp_path / "target", {"only.bin": b"previous content"})
    pack = data_pack(manifest, keyring)
    if damage == "flip":
        _damage(vault, pack, 100)
    elif damage == "truncate":
        _damage(vault, pack, vault.stat(pack).size - 10, truncate=True)  # type: ignore[union-attr]
    else:
        path = vault.path_of(pack)
        path.unlink()
    # A missing pack is damage to the point like a flipped byte: an integrity error naming the file.
    expected = DataMissing if damage == "missing" else CorruptObject
    with pytest.raises(expected, match=r"only\.bin: chunk [0-9a-f]{16}") as caught:
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert isinstance(caught.value, IntegrityError) and caught.value.path == "only.bin"
    assert read_tree(target) == {"only.bin": b"previous content"}
    report = verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True)
    assert not report.ok and report.problems[0].path == "only.bin"
    assert "chunk" in report.problems[0].problem


def test_a_chunk_from_another_vault_is_refused(tmp_path: Path, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {"x.bin": os.urandom(200_000)})
    one = FilesystemVault(tmp_path / "one")
    two = FilesystemVault(tmp_path / "two")
    manifest = backup(src, one, keyring, "asset/p1")
    other = backup(src, two, keyring, "asset/p1")
    # the same point name and content in both vaults: swap vault two's pack into vault one
    pack_one = data_pack(manifest, keyring)
    pack_two = data_pack(other, keyring)
    assert pack_one != pack_two  # chunk ids differ per vault, and so do pack names
    path = one.path_of(pack_one)
    path.chmod(0o644)
    path.write_bytes(two.path_of(pack_two).read_bytes())
    with pytest.raises(CorruptObject, match="another vault"):
        restore_tree(vault=one, manifest=manifest, target_dir=tmp_path / "t", keyring=keyring)


def test_a_tampered_manifest_is_refused(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    src = tree(tmp_path / "src")
    backup(src, vault, keyring, "asset/p1")
    with pytest.raises(ManifestInvalid, match="signature"):
        read_manifest_v2(vault=vault, point="asset/p1", keyring=make_keyring("k1"))


def test_chunk_store_in_an_object_lock_bucket_dedupes_and_restores(
    tmp_path: Path, keyring: KeyRing, s3: Any, s3_server: S3Config, bucket_name: str
) -> None:
    from inventory.engine import S3Vault

    s3.create_bucket(Bucket=bucket_name, ObjectLockEnabledForBucket=True)
    vault = S3Vault(bucket_name, "dr", config=s3_server)
    src = tree(tmp_path / "src")
    first = backup(src, vault, keyring, "asset/p1")
    second = backup(src, vault, keyring, "asset/p2")
    assert first.totals.new_chunks > 0 and second.totals.new_chunks == 0
    refs = [ref for entry in second.files(keyring) for ref in entry.chunks]
    assert refs and all(ref.version_id for ref in refs)  # each chunk pinned to its pack's version
    parts = list(second.parts(keyring))
    assert parts and all(ref.version_id for ref in parts)  # and so is each part holding the entries
    restore_tree(vault=vault, manifest=second, target_dir=tmp_path / "t", keyring=keyring)
    assert read_tree(tmp_path / "t") == read_tree(src)
    head = s3.head_object(Bucket=bucket_name, Key=f"dr/{refs[0].pack}")
    assert head["ObjectLockMode"] == "COMPLIANCE"


def test_a_chunk_whose_bytes_do_not_hash_to_its_id_under_the_dedup_key_is_refused(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", {"model.bin": os.urandom(20_000), "other.bin": os.urandom(30_000)})
    manifest = backup(src, vault, keyring, "asset/p1")
    entry = next(e for e in manifest.files(keyring) if e.path == "model.bin")
    [ref] = entry.chunks
    # Sealed with this vault's seal key under the right id, so it authenticates; but its bytes
    # are not the ones the id was computed from (what a writer with another dedup key leaves).
    keys = ChunkKeys(keyring, "k1", bytes.fromhex(manifest.salt))
    forged = keys.seal(ref.chunk_id, os.urandom(ref.size)).data
    assert len(forged) == ref.stored
    path = vault.path_of(ref.pack)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[ref.offset : ref.offset + ref.stored] = forged
    path.write_bytes(bytes(data))
    target = write_tree(tmp_path / "target", {"model.bin": b"previous"})
    with pytest.raises(CorruptObject, match=r"model\.bin: chunk [0-9a-f]{16}.*dedup key") as caught:
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert caught.value.path == "model.bin"
    assert read_tree(target) == {"model.bin": b"previous"}
    report = verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True)
    assert [p.path for p in report.problems] == ["model.bin"] and "dedup key" in report.problems[0].problem
