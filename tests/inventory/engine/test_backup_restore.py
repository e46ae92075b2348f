"""backup_tree on real files: round trips, and backups that must fail cleanly (space, keys, cancel)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import (
    Cancelled,
    FileEntry,
    FilesystemVault,
    KeyMissing,
    KeyRing,
    Manifest,
    ObjectExists,
    SourceMissing,
    VaultFull,
    VaultReadOnly,
    backup_tree,
    delete_point,
    point_is_complete,
    read_manifest,
    restore_tree,
)
from inventory.engine.target import iter_part_files
from tests.inventory.engine.conftest import (
    SMALL_CHUNK,
    backup,
    later,
    mixed_files,
    read_tree,
    tmpfs,
    write_tree,
)

# --- round trips ------------------------------------------------------------------------------


PACKING = {
    "one-object-per-file": {"pack_below": 0},
    "all-small-files-in-one-pack": {},
    "many-small-packs": {"pack_size": 2 * SMALL_CHUNK},
}


@pytest.mark.parametrize("packing", PACKING.values(), ids=PACKING.keys())
def test_round_trip_restores_every_byte_and_name(
    tree: Path, vault: FilesystemVault, keyring: KeyRing, tmp_path: Path, packing: dict[str, Any]
) -> None:
    manifest = backup(tree, vault, keyring, **packing)
    result = restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert read_tree(tmp_path / "out") == read_tree(tree)
    assert result.files_restored == result.files_total == len(mixed_files())
    assert result.bytes_restored == result.bytes_total == sum(len(v) for v in mixed_files().values())
    assert result.as_evidence()["all_hashes_verified"] is True
    assert list(iter_part_files(tmp_path / "out")) == []


def test_manifest_describes_the_point(tree: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    before = datetime.now(UTC)
    manifest = backup(tree, vault, keyring)
    files = mixed_files()
    assert [entry.path for entry in manifest.files] == sorted(files)
    assert manifest.total_bytes == sum(len(data) for data in files.values())
    assert before <= manifest.data_as_of <= manifest.created_at <= datetime.now(UTC)
    assert manifest.key_id == "k1" and manifest.chunk_size == SMALL_CHUNK
    by_object: dict[str, list[FileEntry]] = {}
    for entry in manifest.files:
        by_object.setdefault(entry.object_key, []).append(entry)
    assert len(by_object) == 1, "every file here is small, so they share one pack"
    for key, members in by_object.items():
        info = vault.stat(key)
        members.sort(key=lambda e: e.offset)
        assert info is not None and info.size == sum(e.stored_size for e in members)
        assert [e.offset for e in members] == [sum(e.stored_size for e in members[:i]) for i in range(len(members))]
        assert info.retain_until == manifest.retain_until
    # names of files never appear in the vault, only in the manifest
    assert not any("weights" in key for key in vault.list("asset/p1/objects"))


def test_manifest_survives_json_and_is_what_the_vault_holds(tree: Path, vault: FilesystemVault, keyring: KeyRing):
    manifest = backup(tree, vault, keyring)
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert read_manifest(vault=vault, point_prefix="asset/p1", keyring=keyring) == manifest
    assert point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)


def test_file_modes_are_kept(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {"run.sh": b"#!/bin/sh\n", "secret.key": b"k"})
    (src / "run.sh").chmod(0o755)
    (src / "secret.key").chmod(0o600)
    manifest = backup(src, vault, keyring)
    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert (tmp_path / "out" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_a_single_file_source(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    model = tmp_path / "adapter.bin"
    model.write_bytes(os.urandom(3 * SMALL_CHUNK))
    manifest = backup(model, vault, keyring)
    assert [entry.path for entry in manifest.files] == ["adapter.bin"]
    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert (tmp_path / "out" / "adapter.bin").read_bytes() == model.read_bytes()


def test_an_empty_folder_makes_an_empty_complete_point(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing):
    (tmp_path / "empty").mkdir()
    manifest = backup(tmp_path / "empty", vault, keyring)
    assert manifest.files == () and point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)


def test_links_are_skipped_and_listed(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    outside = write_tree(tmp_path / "outside", {"secret": b"not part of the asset"})
    src = write_tree(tmp_path / "src", {"real.txt": b"real"})
    (src / "link.txt").symlink_to(outside / "secret")
    (src / "linked-dir").symlink_to(outside)
    manifest = backup(src, vault, keyring)
    assert [entry.path for entry in manifest.files] == ["real.txt"]
    assert {item["path"]: item["reason"] for item in manifest.skipped} == {
        "link.txt": "symbolic link",
        "linked-dir": "symbolic link",
    }


def test_progress_reaches_the_total_and_never_goes_back(tree: Path, vault: FilesystemVault, keyring: KeyRing):
    seen: list[tuple[int, int]] = []
    backup(tree, vault, keyring, progress=lambda done, total: seen.append((done, total)), check_interval=0)
    total = sum(len(data) for data in mixed_files().values())
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) > len(mixed_files())


def test_no_retention_is_allowed(tree: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    manifest = backup(tree, vault, keyring, retain_until=None)
    assert manifest.retain_until is None
    assert delete_point(vault=vault, point_prefix="asset/p1") == len({e.object_key for e in manifest.files}) + 1


# --- backups that must fail cleanly -----------------------------------------------------------


def test_a_missing_source_fails_before_writing(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    with pytest.raises(SourceMissing, match="does not exist"):
        backup(tmp_path / "nowhere", vault, keyring)
    assert list(vault.list()) == []


def test_a_missing_key_fails_before_writing(tree: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    with pytest.raises(KeyMissing, match="'k7'"):
        backup_tree(source=tree, vault=vault, point_prefix="a/p", keyring=keyring, key_id="k7", retain_until=later())
    assert list(vault.list()) == []


def test_a_point_is_never_written_twice(tree: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    backup(tree, vault, keyring)
    with pytest.raises(ObjectExists, match="already exists"):
        backup(tree, vault, keyring)


def test_not_enough_free_space_fails_before_writing(tree: Path, tmp_path: Path, keyring: KeyRing) -> None:
    probe = FilesystemVault(tmp_path / "v")
    free = probe.free_bytes()
    assert free is not None
    tight = FilesystemVault(tmp_path / "v", reserve_bytes=free - 1000)
    with pytest.raises(VaultFull, match="nothing was written"):
        backup(tree, tight, keyring)
    assert list(tight.list()) == []


def test_a_disk_that_fills_up_mid_backup_leaves_an_incomplete_point(tmp_path: Path, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(300 * 1024) for i in range(8)})
    with tmpfs(tmp_path / "small", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        # Lie about free space so the up-front check passes and the disk itself says no.
        vault.free_bytes = lambda: None  # type: ignore[method-assign]
        with pytest.raises(VaultFull, match="full"):
            backup(src, vault, keyring)
        assert not point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)
        assert not any(name.endswith(".part") for name in os.listdir(mount / "vault" / "asset" / "p1" / "objects"))


def test_a_read_only_vault_fails_and_keeps_earlier_points(tmp_path: Path, tree: Path, keyring: KeyRing) -> None:
    with tmpfs(tmp_path / "ro", "4m") as mount:
        vault = FilesystemVault(mount / "vault")
        first = backup(tree, vault, keyring, point="asset/p1")
        import subprocess

        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        with pytest.raises(VaultReadOnly, match="read-only"):
            backup(tree, vault, keyring, point="asset/p2")
        assert not point_is_complete(vault=vault, point_prefix="asset/p2", keyring=keyring)
        restore_tree(vault=vault, manifest=first, target_dir=tmp_path / "out", keyring=keyring)
        assert read_tree(tmp_path / "out") == read_tree(tree)


def test_a_cancelled_backup_has_no_manifest(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(4 * SMALL_CHUNK) for i in range(6)})
    calls = iter(range(1000))

    def cancel_on_fifth_poll() -> bool:
        return next(calls) >= 5

    with pytest.raises(Cancelled, match="cancelled after"):
        backup(src, vault, keyring, should_cancel=cancel_on_fifth_poll, check_interval=0)
    assert not point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)
    assert vault.stat("asset/p1/manifest.json") is None
    assert not [p for p in (vault.root / "asset" / "p1").rglob("*") if p.name.endswith(".part")]
