"""backup_tree and restore_tree on real files: round trips, failures, resume, cancel, traversal."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import (
    Cancelled,
    CorruptObject,
    FileEntry,
    FilesystemVault,
    HashMismatch,
    KeyMissing,
    KeyRing,
    Manifest,
    ManifestInvalid,
    ObjectExists,
    ObjectLocked,
    SourceMissing,
    UnsafePath,
    VaultFull,
    VaultReadOnly,
    backup_tree,
    cleanup_target,
    delete_point,
    point_is_complete,
    read_manifest,
    restore_tree,
    verify_point,
    verify_target,
)
from inventory.engine.target import iter_part_files
from tests.inventory.engine.conftest import SMALL_CHUNK, later, mixed_files, read_tree, tmpfs, write_tree


def backup(source: Path, vault: FilesystemVault, keyring: KeyRing, *, point: str = "asset/p1", **kwargs) -> Manifest:
    kwargs.setdefault("retain_until", later())
    kwargs.setdefault("chunk_size", SMALL_CHUNK)
    return backup_tree(source=source, vault=vault, point_prefix=point, keyring=keyring, key_id="k1", **kwargs)


def flip_byte(path: Path, offset: int) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", mixed_files())


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


# --- restores ---------------------------------------------------------------------------------


def test_restore_replaces_old_content_in_the_target(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    target = write_tree(tmp_path / "out", {"one.bin": b"old", "models/fraud/config.json": b"stale", "mine.txt": b"x"})
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring, resume=False)
    restored = read_tree(target)
    assert restored.pop("mine.txt") == b"x"  # files the point does not name are left alone
    assert restored == read_tree(tree)


@pytest.mark.parametrize("pack_below", [0, SMALL_CHUNK * 100], ids=["own-object", "in-a-pack"])
def test_a_flipped_byte_fails_naming_the_file_and_both_hashes(
    tree: Path, vault, keyring, tmp_path: Path, pack_below: int
) -> None:
    manifest = backup(tree, vault, keyring, pack_below=pack_below)
    entry = next(e for e in manifest.files if e.path == "models/fraud/weights.safetensors")
    target = write_tree(tmp_path / "out", {"models/fraud/weights.safetensors": b"previous weights", "one.bin": b"old"})
    flip_byte(vault.path_of(entry.object_key), entry.offset + 3 * SMALL_CHUNK)
    with pytest.raises(CorruptObject) as failure:
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    error = failure.value
    assert error.path == entry.path and error.expected == entry.stored_sha256
    assert error.actual is not None and error.actual != error.expected
    assert entry.path in str(error) and error.expected in str(error) and error.actual in str(error)
    # nothing in the target changed, and no part is left behind
    assert read_tree(target) == {"models/fraud/weights.safetensors": b"previous weights", "one.bin": b"old"}


def test_a_content_hash_mismatch_is_caught_before_the_file_is_visible(tree: Path, vault, keyring, tmp_path: Path):
    manifest = backup(tree, vault, keyring)
    wrong = tuple(dataclasses.replace(e, sha256="0" * 64) if e.path == "exact.bin" else e for e in manifest.files)
    forged = dataclasses.replace(manifest, files=wrong).signed(keyring)  # a key holder's mistake, not an attack
    with pytest.raises(HashMismatch, match=r"exact\.bin") as failure:
        restore_tree(vault=vault, manifest=forged, target_dir=tmp_path / "out", keyring=keyring)
    assert failure.value.expected == "0" * 64
    assert read_tree(tmp_path / "out") == {}


def test_an_edited_manifest_is_refused(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    edited = manifest.to_json()
    edited["files"][0]["sha256"] = "f" * 64
    with pytest.raises(ManifestInvalid, match="altered"):
        restore_tree(vault=vault, manifest=Manifest.from_json(edited), target_dir=tmp_path / "out", keyring=keyring)


def test_restore_without_the_key_says_which_key(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    with pytest.raises(KeyMissing, match="'k1'"):
        restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=KeyRing({}))


def test_resume_skips_files_already_in_place(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    target = tmp_path / "out"
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    (target / "exact.bin").unlink()
    (target / "one.bin").write_bytes(b"\x00")
    result = restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert result.files_skipped == len(mixed_files()) - 2
    assert result.files_restored == 2
    assert result.bytes_restored == SMALL_CHUNK + 1
    assert read_tree(target) == read_tree(tree)


def _restore_until_killed(vault_root: str, manifest_json: dict[str, Any], target: str, keys: str, kill_at: int) -> None:
    keyring = KeyRing.parse(keys, origin="test")

    def die_midway(done: int, total: int) -> None:
        if done >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    restore_tree(
        vault=FilesystemVault(Path(vault_root)),
        manifest=Manifest.from_json(manifest_json),
        target_dir=Path(target),
        keyring=keyring,
        progress=die_midway,
        check_interval=0,
    )


def test_a_restore_killed_midway_resumes_file_by_file(tmp_path: Path, keyring: KeyRing) -> None:
    import base64

    keys = ",".join(f"{kid}:{base64.b64encode(keyring.key(kid)).decode()}" for kid in keyring.ids)
    src = write_tree(tmp_path / "src", {f"part-{i:02d}.bin": os.urandom(3 * SMALL_CHUNK) for i in range(10)})
    vault = FilesystemVault(tmp_path / "vault")
    manifest = backup(src, vault, keyring)
    target = tmp_path / "out"
    child = multiprocessing.get_context("fork").Process(
        target=_restore_until_killed,
        args=(str(vault.root), manifest.to_json(), str(target), keys, manifest.total_bytes // 2),
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    parts = list(iter_part_files(target))
    assert 0 < len(parts) < 10, "the killed worker should have staged some files"
    assert read_tree(target).keys() == {p.relative_to(target).as_posix() for p in parts}  # nothing visible yet

    result = restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert read_tree(target) == read_tree(src)
    assert result.bytes_restored < manifest.total_bytes  # the staged, verified parts were reused
    assert list(iter_part_files(target)) == []


def test_a_tampered_part_left_by_a_crash_is_not_trusted(tree: Path, vault, keyring, tmp_path: Path) -> None:
    from inventory.engine.target import part_name

    manifest = backup(tree, vault, keyring)
    target = tmp_path / "out"
    (target / "models" / "fraud").mkdir(parents=True)
    (target / "models" / "fraud" / part_name("models/fraud/config.json")).write_bytes(b'{"layers": 13}')
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert (target / "models/fraud/config.json").read_bytes() == b'{"layers": 12}'


def test_a_cancelled_restore_leaves_the_target_as_it_was(tmp_path: Path, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(2 * SMALL_CHUNK) for i in range(8)})
    vault = FilesystemVault(tmp_path / "vault")
    manifest = backup(src, vault, keyring)
    target = write_tree(tmp_path / "out", {"f3.bin": b"before"})
    polls = iter(range(1000))
    with pytest.raises(Cancelled, match="restore was cancelled"):
        restore_tree(
            vault=vault,
            manifest=manifest,
            target_dir=target,
            keyring=keyring,
            should_cancel=lambda: next(polls) >= 6,
            check_interval=0,
        )
    assert read_tree(target) == {"f3.bin": b"before"}


# --- paths that try to leave the target ---------------------------------------------------------


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/escape.txt", "a/../../escape.txt", "a/./b", "a//b", "a\\..\\b"])
def test_manifest_paths_that_leave_the_target_are_refused(bad: str, tree: Path, vault, keyring, tmp_path) -> None:
    manifest = backup(tree, vault, keyring)
    entry = dataclasses.replace(manifest.files[0], path=bad)
    forged = dataclasses.replace(manifest, files=(entry,)).signed(keyring)
    target = tmp_path / "deep" / "out"
    with pytest.raises(UnsafePath):
        restore_tree(vault=vault, manifest=forged, target_dir=target, keyring=keyring)
    with pytest.raises(UnsafePath):
        Manifest.from_json(forged.to_json())
    assert not (tmp_path / "deep" / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_a_link_planted_in_the_target_is_not_followed(tree: Path, vault, keyring, tmp_path: Path) -> None:
    manifest = backup(tree, vault, keyring)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "models").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="is a link"):
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert list(outside.iterdir()) == []


def test_a_file_link_in_the_target_is_replaced_not_written_through(tree: Path, vault, keyring, tmp_path) -> None:
    manifest = backup(tree, vault, keyring)
    victim = tmp_path / "victim"
    victim.write_bytes(b"must not change")
    target = tmp_path / "out"
    target.mkdir()
    (target / "one.bin").symlink_to(victim)
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert victim.read_bytes() == b"must not change"
    assert not (target / "one.bin").is_symlink() and (target / "one.bin").read_bytes() == b"\x07"


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
