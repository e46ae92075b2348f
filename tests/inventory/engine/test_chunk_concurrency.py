"""The chunk store's helper threads (#13): packs written behind the backup, chunks read ahead of the restore.

Each test checks that the work really runs on its helper thread, that order is kept
whatever order the helpers finish in, and that an error on a helper fails the backup or
restore as it would on the main thread: no point, no pack, no part file left behind.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import backup_chunked
from inventory.engine.chunks.store import INDEX_DIR, PACKS_DIR
from inventory.engine.errors import CorruptObject, VaultUnavailable
from inventory.engine.target import iter_part_files
from inventory.engine.vaults import ObjectInfo

from .conftest import read_tree, write_tree

KiB = 1024


class WatchedVault(FilesystemVault):
    """Records which thread wrote each pack and read each chunk; can fail or slow them."""

    def __init__(self, root: Path, *, fail_pack: int = 0, jitter: bool = False) -> None:
        super().__init__(root)
        self.fail_pack = fail_pack
        self.jitter = jitter
        self.pack_threads: list[str] = []
        self.read_threads: set[str] = set()
        self.reads: list[tuple[str, str, int]] = []  # thread, pack, offset
        self.live_threads: set[str] = set()
        self._rng = random.Random(5)

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        if key.startswith(PACKS_DIR + "/"):
            self.pack_threads.append(threading.current_thread().name)
            self.live_threads.update(thread.name for thread in threading.enumerate())
            if len(self.pack_threads) == self.fail_pack:
                raise VaultUnavailable(f"the vault went away while writing {key}")
        return super().put(key, chunks, retain_until=retain_until, durable=durable)

    @contextmanager
    def open(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[Any]:
        if key.startswith(PACKS_DIR + "/"):
            self.read_threads.add(threading.current_thread().name)
            self.reads.append((threading.current_thread().name, key, offset))
            if self.jitter:
                time.sleep(self._rng.random() * 0.01)  # helpers finish out of order
        with super().open(key, version_id=version_id, offset=offset, length=length) as stream:
            yield stream


def _files() -> dict[str, bytes]:
    rng = random.Random(3)
    files = {f"small/f{i:03d}.bin": rng.randbytes(rng.randint(0, 40 * KiB)) for i in range(60)}
    files["big/model.safetensors"] = os.urandom(900 * KiB)  # several chunks of about 256 KiB
    files["big/empty.bin"] = b""
    return files


def _backup(src: Path, vault: FilesystemVault, keyring: KeyRing) -> Any:
    return backup_chunked(
        source=src,
        vault=vault,
        point_prefix="asset/p1",
        keyring=keyring,
        key_id="k1",
        retain_until=None,
        average_chunk=256 * KiB,
        pack_size=256 * KiB,
    )


def test_packs_are_written_on_the_writer_thread_in_order_and_restore_reads_ahead(
    tmp_path: Path, keyring: KeyRing
) -> None:
    files = _files()
    src = write_tree(tmp_path / "src", files)
    os.chmod(src / "big" / "empty.bin", 0o640)
    vault = WatchedVault(tmp_path / "vault", jitter=True)
    manifest = _backup(src, vault, keyring)
    assert len(vault.pack_threads) > 3
    assert all(name.startswith("pack-writer") for name in vault.pack_threads)
    assert any(name.startswith("file-hash") for name in vault.live_threads), "file hashes beside the chunk ids"

    target = tmp_path / "target"
    restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert read_tree(target) == files, "every chunk in its place, whatever order the helpers finished in"
    # The manifest's own parts are read in order by the restore itself; every read of file data is a helper's.
    parts = {(ref.pack, ref.offset) for ref in manifest.parts(keyring)}
    data_reads = {thread for thread, pack, offset in vault.reads if (pack, offset) not in parts}
    assert data_reads and all(name.startswith("restore-read") for name in data_reads)
    assert (target / "big" / "empty.bin").stat().st_mode & 0o777 == 0o640, "a part made ahead still gets its mode"
    assert not list(iter_part_files(target))


def test_a_pack_write_that_fails_on_the_writer_thread_fails_the_backup_and_leaves_nothing(
    tmp_path: Path, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", _files())
    vault = WatchedVault(tmp_path / "vault", fail_pack=3)
    with pytest.raises(VaultUnavailable, match="went away"):
        _backup(src, vault, keyring)
    assert vault.pack_threads[2].startswith("pack-writer")
    assert list(vault.list(PACKS_DIR)) == [], "the packs written before the failure are taken back"
    assert list(vault.list(INDEX_DIR)) == []
    assert list(vault.list("asset")) == [], "no manifest: no half-written point"
    assert [t.name for t in threading.enumerate() if t.name.startswith("pack-writer")] == []


def test_a_damaged_chunk_met_by_a_read_ahead_thread_fails_the_restore_and_leaves_the_target(
    tmp_path: Path, keyring: KeyRing
) -> None:
    src = write_tree(tmp_path / "src", _files())
    vault = WatchedVault(tmp_path / "vault")
    manifest = _backup(src, vault, keyring)
    entry = next(e for e in manifest.files(keyring) if e.path == "small/f030.bin")
    ref = entry.chunks[0]
    pack = vault.path_of(ref.pack)
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.seek(ref.offset + ref.stored - 1)
        last = handle.read(1)
        handle.seek(ref.offset + ref.stored - 1)
        handle.write(bytes([last[0] ^ 1]))
    target = write_tree(tmp_path / "target", {"small/f030.bin": b"previous"})
    with pytest.raises(CorruptObject, match=r"small/f030\.bin"):
        restore_tree(vault=vault, manifest=manifest, target_dir=target, keyring=keyring)
    assert read_tree(target) == {"small/f030.bin": b"previous"}
    assert not list(iter_part_files(target)), "no part left, including those created ahead"
    assert [t.name for t in threading.enumerate() if t.name.startswith(("restore-read", "restore-create"))] == []
