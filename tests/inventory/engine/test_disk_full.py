"""A full disk (#11 item 21): refused before a byte moves when known, final when met, nothing half-written.

Each test mounts a real, size-limited tmpfs (and skips where mounting is not allowed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, TargetFull, VaultFull, restore_tree
from inventory.engine.chunks import backup_chunked
from inventory.engine.chunks.manifest import ChunkedManifest
from inventory.engine.chunks.store import PACKS_DIR
from inventory.engine.target import iter_part_files

from .conftest import read_tree, tmpfs, write_tree

MiB = 1024 * 1024


def _point(tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, sizes: list[int]) -> ChunkedManifest:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(size) for i, size in enumerate(sizes)})
    return backup_chunked(
        source=src, vault=vault, point_prefix="asset/p1", keyring=keyring, key_id="k1", retain_until=None
    )


def test_a_restore_larger_than_the_free_space_is_refused_before_a_byte_moves(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    manifest = _point(tmp_path, vault, keyring, [700 * 1024] * 3)
    with tmpfs(tmp_path / "small", "1m") as mount:
        target = write_tree(mount / "target", {"f0.bin": b"what was there"})
        with pytest.raises(TargetFull, match=r"needs 2\.1 MiB \(2150400 bytes needed, \d+ free\); nothing was written"):
            restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
        assert read_tree(target) == {"f0.bin": b"what was there"}
        assert not list(iter_part_files(target))


def test_a_disk_that_fills_during_a_restore_is_final_and_leaves_no_part(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing
) -> None:
    manifest = _point(tmp_path, vault, keyring, [600 * 1024] * 3)
    with tmpfs(tmp_path / "small", "2m") as mount:
        target = write_tree(mount / "target", {"f1.bin": b"previous"})
        filled: list[int] = []

        def someone_else_fills_the_disk(done: int, total: int) -> None:
            # After the space check passed: another writer takes all but 300 KiB.
            if not filled:
                free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
                (mount / "filler").write_bytes(b"\0" * (free - 300 * 1024))
                filled.append(free)

        with pytest.raises(
            TargetFull, match=r"ran out of space: this restore needs 1\.8 MiB \(1843200 bytes\)"
        ) as caught:
            restore_tree(
                vault=vault,
                manifest=manifest,
                target_dir=target,
                keyring=keyring,
                progress=someone_else_fills_the_disk,
                check_interval=0,
            )
        assert filled, "the space check passed first"
        assert caught.value.needed == 1843200 and caught.value.free > 0
        assert read_tree(target) == {"f1.bin": b"previous"}
        assert not list(iter_part_files(target))


def test_a_fresh_chain_larger_than_the_vault_is_refused_before_writing(tmp_path: Path, keyring: KeyRing) -> None:
    src = write_tree(tmp_path / "src", {"big.bin": os.urandom(2 * MiB)})
    with tmpfs(tmp_path / "small", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        with pytest.raises(VaultFull, match=r"fresh chain of 2097152 bytes .*nothing was written"):
            backup_chunked(
                source=src,
                vault=vault,
                point_prefix="a/p",
                keyring=keyring,
                key_id="k1",
                retain_until=None,
                fresh_chain=True,
            )
        assert list(vault.list(PACKS_DIR)) == []


def test_a_vault_that_fills_during_a_backup_says_needed_and_free_and_takes_its_packs_back(
    tmp_path: Path, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(400 * 1024) for i in range(6)})
    with tmpfs(tmp_path / "small", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        with pytest.raises(VaultFull, match=r"needed at least \d+ bytes .* and \d+ bytes are free") as caught:
            backup_chunked(
                source=src,
                vault=vault,
                point_prefix="a/p",
                keyring=keyring,
                key_id="k1",
                retain_until=None,
                pack_size=512 * 1024,
            )
        assert "will not be retried" in str(caught.value)
        assert list(vault.list(PACKS_DIR)) == [], "packs of the failed backup are deleted"
        assert list(vault.list("a")) == [], "no manifest"


def test_a_fresh_chain_refused_before_writing_says_so_without_empty_figures(tmp_path: Path, keyring: KeyRing) -> None:
    """The demo's nas-exports read "needed at least 0 bytes (0 bytes) … 0 packs it had written were deleted":
    the fresh-chain check refuses before a pack is sealed, so those figures were true of nothing."""
    src = write_tree(tmp_path / "src", {"big.bin": os.urandom(2 * MiB)})
    with tmpfs(tmp_path / "small", "1m") as mount:
        vault = FilesystemVault(mount / "vault")
        with pytest.raises(VaultFull) as caught:
            backup_chunked(
                source=src,
                vault=vault,
                point_prefix="a/p",
                keyring=keyring,
                key_id="k1",
                retain_until=None,
                fresh_chain=True,
            )
    message = str(caught.value)
    assert "0 bytes (0 bytes)" not in message and "0 packs" not in message
    assert message.startswith(f"The vault at {vault.uri} has ")
    assert message.endswith(
        "starts a fresh chain of 2097152 bytes (2.0 MiB); nothing was written."
        " No point was recorded and it will not be retried."
    )
