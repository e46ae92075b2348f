"""The exact words of a restore that cannot read a file's chunk or a part of a point's entry list.

People read these in a failed run, a point's note and a verification report; one reader
(``read_chunk``) words both, so each wording is pinned here whole.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import ChunkedManifest, ChunkRef, backup_chunked
from inventory.engine.errors import CorruptObject, DataMissing

from .conftest import later, read_tree, write_tree

AUTH = "failed authentication (damaged, truncated, from another vault, or sealed with another key)"


def backup(src: Path, vault: FilesystemVault, keyring: KeyRing) -> ChunkedManifest:
    return backup_chunked(
        source=src, vault=vault, point_prefix="asset/p1", keyring=keyring, key_id="k1", retain_until=later()
    )


def damage(vault: FilesystemVault, ref: ChunkRef, how: str) -> None:
    path = vault.path_of(ref.pack)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    if how == "missing":
        path.unlink()
    elif how == "flip":
        data[ref.offset + ref.stored // 2] ^= 1
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(bytes(data[: ref.offset + ref.stored - 5]))


def restore_error(tmp_path: Path, vault: FilesystemVault, manifest: ChunkedManifest, keyring: KeyRing) -> str:
    target = write_tree(tmp_path / "target", {"only.bin": b"previous content"})
    with pytest.raises((DataMissing, CorruptObject)) as caught:
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert read_tree(target) == {"only.bin": b"previous content"}
    return str(caught.value)


@pytest.mark.parametrize("how", ["missing", "truncate", "flip"])
def test_a_chunk_that_cannot_be_read_is_named_with_its_file(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, how: str
) -> None:
    manifest = backup(write_tree(tmp_path / "src", {"only.bin": os.urandom(10_000)}), vault, keyring)
    [entry] = list(manifest.files(keyring))
    [ref] = entry.chunks
    assert ref.pack not in {part.pack for part in manifest.parts(keyring)}
    damage(vault, ref, how)
    chunk = ref.chunk_id[:16]
    expected = {
        "missing": f"only.bin: chunk {chunk}… is missing (its pack {ref.pack} is not in the vault). "
        "The target was not changed.",
        "truncate": f"only.bin: chunk {chunk}… is truncated in pack {ref.pack} "
        f"({ref.stored - 5} of {ref.stored} bytes).",
        "flip": f"only.bin: chunk {chunk}… {AUTH}.",
    }[how]
    assert restore_error(tmp_path, vault, manifest, keyring) == expected


@pytest.mark.parametrize("how", ["missing", "truncate", "flip"])
def test_a_part_of_the_entry_list_that_cannot_be_read_is_named_with_the_point(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, how: str
) -> None:
    manifest = backup(write_tree(tmp_path / "src", {"only.bin": os.urandom(10_000)}), vault, keyring)
    [part] = list(manifest.parts(keyring))
    damage(vault, part, how)
    chunk = part.chunk_id[:16]
    point = "asset/p1/manifest.v2"
    expected = {
        "missing": f"{point}: its part {chunk}… is missing (pack {part.pack} is not in the vault).",
        "truncate": f"{point}: its part {chunk}… is truncated in pack {part.pack} "
        f"({part.stored - 5} of {part.stored} bytes).",
        "flip": f"{point}: part chunk {chunk}… {AUTH}.",
    }[how]
    assert restore_error(tmp_path, vault, manifest, keyring) == expected
