"""The compact chunk index: every known chunk found again exactly, in about 50 bytes a chunk."""

from __future__ import annotations

import gc
import os
import tracemalloc

from inventory.engine.chunks.index import ChunkIndex, ChunkIndexBuilder
from inventory.engine.chunks.ref import ChunkRef


def _refs(count: int) -> list[ChunkRef]:
    return [
        ChunkRef(
            chunk_id=os.urandom(32).hex(),
            pack=f"chunks/packs/{i % 40:032x}",
            offset=(i * 7919) % (16 << 20),
            stored=1_048_620 + i % 100,
            size=1_048_576,
            codec=i % 2,
            version_id=f"v{i % 40}" if i % 2 else None,  # one version per pack, as S3 gives
        )
        for i in range(count)
    ]


def _build(refs: list[ChunkRef]) -> ChunkIndex:
    builder = ChunkIndexBuilder()
    for ref in refs:
        builder.add(ref)
    return builder.build()


def test_every_chunk_is_found_as_it_was_added_and_no_other() -> None:
    refs = _refs(5000)
    # Ids sharing their first 8 bytes must still be told apart.
    twin = ChunkRef(refs[0].chunk_id[:16] + "f" * 48, "chunks/packs/x", 1, 2, 3, 0)
    index = _build([*refs, twin])
    assert len(index) == 5001
    for ref in [*refs, twin]:
        assert index.get(bytes.fromhex(ref.chunk_id)) == ref
    assert index.get(os.urandom(32)) is None
    assert ChunkIndex.empty().get(os.urandom(32)) is None


def test_the_index_costs_under_64_bytes_a_chunk() -> None:
    refs = _refs(20_000)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    index = _build(refs)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_chunk = (after - before) / len(index)
    assert per_chunk < 64, per_chunk
    assert index.nbytes / len(index) == 49
