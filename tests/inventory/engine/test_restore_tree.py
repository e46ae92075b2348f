"""restore_tree on real files: damage named, resume after a kill, cancel, and paths that try to leave the target."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import (
    Cancelled,
    CorruptObject,
    FilesystemVault,
    HashMismatch,
    KeyMissing,
    KeyRing,
    Manifest,
    ManifestInvalid,
    UnsafePath,
    restore_tree,
)
from inventory.engine.target import iter_part_files
from tests.inventory.engine.conftest import (
    SMALL_CHUNK,
    backup,
    flip_byte,
    mixed_files,
    read_tree,
    write_tree,
)

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
