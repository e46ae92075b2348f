"""The chunk store: content-defined, deduplicated, compressed and sealed chunks in a vault.

Points written here have a format-2 manifest (``<point>/manifest.v2``) kept in the vault
beside a chunk index, so the vault and the key file alone list, verify and restore them.
Its file entries are themselves chunks (:mod:`inventory.engine.chunks.entries`), shared
with the parent point where they did not change.
Points of format 1 (``<point>/manifest.json``, one sealed object per file or pack) are
still read and verified by :mod:`inventory.engine.format1.read`; both formats are restored
by the one :func:`inventory.engine.restore.restore_tree`.
"""

from __future__ import annotations

from inventory.engine.chunks.backup import AVERAGE_CHUNK, Chunker, backup_chunked
from inventory.engine.chunks.codec import ChunkKeys
from inventory.engine.chunks.manifest import (
    ChunkedFile,
    ChunkedManifest,
    PointTotals,
    manifest_v2_key,
    read_manifest_v2,
)
from inventory.engine.chunks.read import ChunkReader, verify_chunked
from inventory.engine.chunks.store import ChunkRef, ChunkStore

__all__ = [
    "AVERAGE_CHUNK",
    "ChunkKeys",
    "ChunkReader",
    "ChunkRef",
    "ChunkStore",
    "ChunkedFile",
    "ChunkedManifest",
    "Chunker",
    "PointTotals",
    "backup_chunked",
    "manifest_v2_key",
    "read_manifest_v2",
    "verify_chunked",
]
