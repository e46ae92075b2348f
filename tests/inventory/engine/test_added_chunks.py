"""Chunks a backup added are found again from their spooled records, across packs and merges."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import backup_chunked
from inventory.engine.chunks import store as store_module
from inventory.engine.chunks.added import AddedChunks
from inventory.engine.chunks.ref import ChunkRef

from .conftest import read_tree, write_tree


def _ref(chunk_id: bytes, pack: str, offset: int) -> ChunkRef:
    return ChunkRef(chunk_id.hex(), pack, offset, 100 + offset, 80 + offset, offset % 2, f"v-{pack}")


def test_every_added_chunk_is_found_with_its_record_and_no_other_is() -> None:
    rng = random.Random(5)
    added = AddedChunks()
    expected: dict[bytes, ChunkRef] = {}
    shared = rng.randbytes(8)  # ids that agree on their first 8 bytes must still be told apart
    try:
        for pack in range(40):
            refs = []
            for row in range(rng.randint(1, 60)):
                chunk_id = (shared if row % 7 == 0 else rng.randbytes(8)) + rng.randbytes(24)
                refs.append(_ref(chunk_id, f"chunks/packs/p{pack}", row * 1000))
            added.add_pack(refs)
            expected.update({bytes.fromhex(ref.chunk_id): ref for ref in refs})
        assert len(added) == len(expected)
        assert len(added._runs) < 12  # runs are merged as they grow: lookups search a handful
        for chunk_id, ref in expected.items():
            assert added.get(chunk_id) == ref
        assert added.get(shared + rng.randbytes(24)) is None
        assert added.get(rng.randbytes(32)) is None
        assert added.memory_bytes == 12 * len(expected)
    finally:
        added.close()


def test_a_backup_of_many_tiny_files_closes_packs_by_count_and_still_dedups_across_them(
    tmp_path: Path, vault: FilesystemVault, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PACK_CHUNKS", 16)
    files = {f"d/f{index:03d}.txt": os.urandom(40) for index in range(100)}
    files.update({f"e/copy{index:03d}.txt": files[f"d/f{index:03d}.txt"] for index in range(0, 100, 9)})
    root = write_tree(tmp_path / "src", files)
    point = backup_chunked(
        source=root, vault=vault, point_prefix="a/p1", keyring=keyring, key_id="k1", retain_until=None
    )
    assert point.totals.new_chunks == 100  # the copies, read after their originals' packs were written, reused them
    packs = {ref.pack for entry in point.files(keyring) for ref in entry.chunks}
    assert len(packs) == 7  # 100 chunks, 16 to a pack
    target = tmp_path / "restored"
    restore_tree(vault=vault, manifest=point, target_dir=target, keyring=keyring)
    assert read_tree(target) == files


def test_merging_two_runs_sorts_them_stably_in_little_more_than_the_result() -> None:
    import tracemalloc

    import numpy as np

    from inventory.engine.chunks.added import _merge

    rng = np.random.default_rng(7)
    half = 400_000
    keys_a = np.sort(rng.integers(0, 2**40, half, dtype=np.uint64))
    keys_b = np.sort(np.concatenate((rng.integers(0, 2**40, half - 1000, dtype=np.uint64), keys_a[:1000])))
    rows_a = np.arange(half, dtype=np.uint32)
    rows_b = np.arange(half, 2 * half, dtype=np.uint32)
    tracemalloc.start()
    keys, rows = _merge((keys_a, rows_a), (keys_b, rows_b))
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    order = np.argsort(np.concatenate((keys_a, keys_b)), kind="stable")  # equal keys: the older run's first
    assert np.array_equal(keys, np.concatenate((keys_a, keys_b))[order])
    assert np.array_equal(rows, np.concatenate((rows_a, rows_b))[order])
    # Concatenating and sorting again took 32 bytes a chunk besides the two runs; the result is 12.
    assert peak < 24 * 2 * half
