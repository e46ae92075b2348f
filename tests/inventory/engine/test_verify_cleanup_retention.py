"""Verifying points and targets, cleaning up after a drill, and retention before a point may go."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory.engine import (
    FileEntry,
    FilesystemVault,
    KeyRing,
    ManifestInvalid,
    ObjectLocked,
    UnsafePath,
    cleanup_target,
    delete_point,
    point_is_complete,
    restore_tree,
    verify_point,
    verify_target,
)
from tests.inventory.engine.conftest import (
    backup,
    flip_byte,
    later,
    mixed_files,
    read_tree,
    write_tree,
)

# --- verification, cleanup, retention -----------------------------------------------------------


def test_verify_point_checks_stored_objects_without_a_key(tree: Path, vault, keyring) -> None:
    manifest = backup(tree, vault, keyring)
    assert verify_point(vault=vault, manifest=manifest).ok
    assert verify_point(vault=vault, manifest=manifest, keyring=keyring, decrypt=True).ok
    entry = manifest.files[3]
    flip_byte(vault.path_of(entry.object_key), entry.offset + 40)
    report = verify_point(vault=vault, manifest=manifest)
    assert not report.ok and [p.path for p in report.problems] == [entry.path]
    assert report.problems[0].expected == entry.stored_sha256
    assert entry.path in report.summary()


def test_verify_point_reports_a_missing_object(tree: Path, vault, keyring) -> None:
    manifest = backup(tree, vault, keyring)
    os.unlink(vault.path_of(manifest.files[0].object_key))
    report = verify_point(vault=vault, manifest=manifest)
    assert {p.problem for p in report.problems} == {f"object {manifest.files[0].object_key} is missing"}
    assert len(report.problems) == len(manifest.files), "every file of the lost pack is reported"


def test_verify_target_finds_changed_and_missing_files(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    target = tmp_path / "out"
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert verify_target(manifest=manifest, target_dir=target).ok
    (target / "above.bin").write_bytes(b"changed")
    (target / "deep/a/b/c/d/e/f.txt").unlink()
    report = verify_target(manifest=manifest, target_dir=target)
    assert sorted(p.path for p in report.problems) == ["above.bin", "deep/a/b/c/d/e/f.txt"]
    assert not verify_target(manifest=manifest, target_dir=tmp_path / "nowhere").ok


def test_cleanup_removes_only_what_the_restore_put_there(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    target = tmp_path / "drill"
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    (target / "models" / "notes.txt").write_text("someone's own file")
    result = cleanup_target(target_dir=target, manifest=manifest)
    assert result.removed_files == len(mixed_files())
    assert read_tree(target) == {"models/notes.txt": b"someone's own file"}
    (target / "models" / "notes.txt").unlink()
    cleanup_target(target_dir=target, manifest=manifest)
    assert not target.exists()


def test_cleanup_refuses_a_linked_target(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    before = read_tree(tree)
    (tmp_path / "link").symlink_to(tree)
    with pytest.raises(UnsafePath):
        cleanup_target(target_dir=tmp_path / "link", manifest=manifest)
    assert read_tree(tree) == before


def test_delete_point_waits_for_retention(tree: Path, tmp_path: Path, keyring: KeyRing) -> None:
    moment = [datetime.now(UTC)]
    vault = FilesystemVault(tmp_path / "vault", clock=lambda: moment[0])
    manifest = backup(tree, vault, keyring, retain_until=later(days=7))
    with pytest.raises(ObjectLocked, match="retained until"):
        delete_point(vault=vault, point_prefix="asset/p1")
    assert point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)
    assert verify_point(vault=vault, manifest=manifest).ok
    moment[0] += timedelta(days=8)
    removed = delete_point(vault=vault, point_prefix="asset/p1")
    assert removed == len({e.object_key for e in manifest.files}) + 1
    assert list(vault.list()) == []


def test_file_entries_refuse_impossible_sizes() -> None:
    good = FileEntry("a", 1, "a" * 64, "p/objects/00000000", 50, "b" * 64).to_json()
    assert FileEntry.from_json(good).path == "a"
    with pytest.raises(ManifestInvalid):
        FileEntry.from_json({**good, "stored_size": 1})
    with pytest.raises(ManifestInvalid):
        FileEntry.from_json({**good, "sha256": "xyz"})


def test_a_folder_in_the_way_fails_before_anything_changes(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    target = write_tree(tmp_path / "out", {"one.bin": b"old", "two-exact.bin/inside.txt": b"a folder, not a file"})
    with pytest.raises(UnsafePath, match="in the way"):
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert read_tree(target) == {"one.bin": b"old", "two-exact.bin/inside.txt": b"a folder, not a file"}


def test_large_chunks_with_a_short_tail_restore_in_order(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing):
    # Default 1 MiB chunks take the threaded write path; the short final chunk does not.
    data = {"big.bin": os.urandom(3 * 1024 * 1024 + 123), "exact.bin": os.urandom(2 * 1024 * 1024)}
    src = write_tree(tmp_path / "src", data)
    manifest = backup(src, vault, keyring, chunk_size=1024 * 1024)
    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert read_tree(tmp_path / "out") == data


def test_delete_point_with_a_later_now_still_obeys_the_vault_clock(tree: Path, vault, keyring) -> None:
    backup(tree, vault, keyring, retain_until=later(days=7))
    with pytest.raises(ObjectLocked):
        delete_point(vault=vault, point_prefix="asset/p1", now=datetime.now(UTC) + timedelta(days=30))
    assert point_is_complete(vault=vault, point_prefix="asset/p1", keyring=keyring)


def test_stored_hashes_of_large_files_verify(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing) -> None:
    # Default chunks: large files hash their sealed bytes on the background thread.
    src = write_tree(tmp_path / "src", {"big.bin": os.urandom(3 * 1024 * 1024 + 5), "small.txt": b"s"})
    manifest = backup(src, vault, keyring, chunk_size=1024 * 1024)
    assert verify_point(vault=vault, manifest=manifest).ok
