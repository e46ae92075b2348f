"""A point's file entries kept as chunks of the chunk store, so a backup stores only the ones that changed.

Manifest layout 3 (see :mod:`inventory.engine.chunks.manifest`): the entry lines, in
path order, are cut into *parts* of whole lines, and each part is a chunk like any
other — its id the keyed hash of its bytes, sealed, deduplicated through the vault's
index. A part ends after a line whose CRC-32 is 0 modulo :data:`CUT_EVERY` once it holds
:data:`MIN_PART` bytes, or at :data:`MAX_PART` bytes: the cuts depend on the lines, not on
where they fall in the stream, so a point whose files mostly did not change produces
mostly the parts its parent produced, and those are referenced, not stored again
(restic stores its trees as blobs for the same reason). The point object lists the
parts' references under its MAC; each part is authenticated against its id when read.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inventory.engine.chunks.read import read_chunk
from inventory.engine.chunks.ref import ChunkRef
from inventory.engine.errors import ManifestInvalid
from inventory.engine.vaults import Vault

if TYPE_CHECKING:
    from inventory.engine.chunks.codec import ChunkKeys
    from inventory.engine.chunks.store import ChunkStore

# About 14 KiB a part for entries of a few hundred bytes: a changed file costs one part
# (some 5 KiB once compressed), and a million files make about 25,000 parts, listed in
# the point object at some 60 compressed bytes each.
MIN_PART = 4 * 1024
MAX_PART = 64 * 1024
CUT_EVERY = 32


def entry_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def ends_part(line: bytes, size: int) -> bool:
    """Whether a part holding ``size`` bytes ends after ``line`` (its last line)."""
    return size >= MAX_PART or (size >= MIN_PART and zlib.crc32(line) % CUT_EVERY == 0)


class EntryParts:
    """Cuts entry lines into parts and stores each part once in ``store`` (writer side).

    A part's reference is handed out by :meth:`ready` once its pack is written (an S3
    vault gives the pack's version id then), in order; only parts in the pack being
    filled wait, so memory stays bounded.
    """

    def __init__(self, store: ChunkStore, *, retain_until: datetime | None) -> None:
        self._store = store
        self._retain_until = retain_until
        self._lines: list[bytes] = []
        self._size = 0
        self._waiting: deque[ChunkRef] = deque()
        self.parts = 0
        self.new_parts = 0
        self.stored_new_bytes = 0

    def add(self, line: bytes) -> None:
        self._lines.append(line)
        self._size += len(line)
        if ends_part(line, self._size):
            self._cut()

    def _cut(self) -> None:
        plain = b"".join(self._lines)
        self._lines, self._size = [], 0
        store = self._store
        chunk_id = store.keys.chunk_id(plain)
        ref = store.lookup(chunk_id)
        if ref is None:
            ref = store.add(chunk_id, plain, retain_until=self._retain_until)
            self.new_parts += 1
            self.stored_new_bytes += ref.stored
        else:
            # A reused part is locked at least as long as this point, like a reused data chunk.
            store.hold(ref, retain_until=self._retain_until)
        self._waiting.append(ref)
        self.parts += 1

    def ready(self) -> Iterator[ChunkRef]:
        while self._waiting and not self._store.waiting((self._waiting[0],)):
            yield self._store.resolve(self._waiting.popleft())

    def end(self) -> None:
        """Store the last part and write the pack being filled: every part is ready after this."""
        if self._lines:
            self._cut()
        self._store.finish_writes(retain_until=self._retain_until)


def part_records(vault: Vault, keys: ChunkKeys, parts: Iterator[ChunkRef], *, what: str) -> Iterator[dict[str, Any]]:
    """The records of the parts ``parts``, in order; one part is held in memory at a time."""
    for ref in parts:
        plain = read_chunk(vault, keys, ref, path=what, kind="part")
        if not plain.endswith(b"\n"):
            raise ManifestInvalid(f"{what}: part {ref.chunk_id[:16]}… does not end with a whole line.")
        for line in plain[:-1].split(b"\n"):
            try:
                record = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ManifestInvalid(f"{what}: part {ref.chunk_id[:16]}… holds a line that is not JSON.") from None
            if not isinstance(record, dict):
                raise ManifestInvalid(f"{what}: part {ref.chunk_id[:16]}… holds a line that is not an object.")
            yield record
