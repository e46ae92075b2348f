"""The chunk index a backup loads: every known chunk of a vault in about 50 bytes each.

A vault of ten million chunks (about 10 TiB at 1 MiB a chunk) must fit a worker. A
dictionary of reference objects costs some 450 bytes a chunk (4.3 GiB); here each chunk
is one row of fixed-width columns: its 32-byte id, the number of its pack (pack names
and version ids are kept once per pack), its offset, stored and plain sizes, and its
codec — 49 bytes — sorted by id and searched by bisection on the id's first 8 bytes.
"""

from __future__ import annotations

from array import array

import numpy as np

from inventory.engine.chunks.ref import ChunkRef

_MAX_U32 = 2**32 - 1


class ChunkIndexBuilder:
    """Collects rows while index segments are read; :meth:`build` sorts them once."""

    def __init__(self) -> None:
        self._ids = bytearray()
        self._pack = array("I")
        self._offset = array("I")
        self._stored = array("I")
        self._size = array("I")
        self._codec = array("B")
        self._packs: list[str] = []
        self._versions: list[str | None] = []
        self._pack_numbers: dict[str, int] = {}

    def add(self, ref: ChunkRef) -> None:
        number = self._pack_numbers.get(ref.pack)
        if number is None:
            number = self._pack_numbers[ref.pack] = len(self._packs)
            self._packs.append(ref.pack)
            self._versions.append(ref.version_id)
        if max(ref.offset, ref.stored, ref.size) > _MAX_U32:
            raise ValueError(f"chunk {ref.chunk_id[:16]} does not fit the index's 32-bit columns")
        self._ids += bytes.fromhex(ref.chunk_id)
        self._pack.append(number)
        self._offset.append(ref.offset)
        self._stored.append(ref.stored)
        self._size.append(ref.size)
        self._codec.append(ref.codec)

    def build(self) -> ChunkIndex:
        ids = np.frombuffer(bytes(self._ids), dtype=np.uint8).reshape(-1, 32)
        self._ids = bytearray()
        prefix = ids[:, :8].copy().view(">u8").ravel().astype(np.uint64)
        order = np.argsort(prefix, kind="stable")
        columns = [np.frombuffer(col, dtype=dtype)[order] for col, dtype in self._columns()]
        return ChunkIndex(
            rest=ids[order, 8:],
            prefix=prefix[order],
            pack=columns[0],
            offset=columns[1],
            stored=columns[2],
            size=columns[3],
            codec=columns[4],
            packs=self._packs,
            versions=self._versions,
        )

    def _columns(self) -> list[tuple[array[int], type[np.generic]]]:
        return [
            (self._pack, np.uint32),
            (self._offset, np.uint32),
            (self._stored, np.uint32),
            (self._size, np.uint32),
            (self._codec, np.uint8),
        ]


class ChunkIndex:
    """Known chunks of a vault, looked up by id; read-only once built."""

    def __init__(
        self,
        *,
        rest: np.ndarray,
        prefix: np.ndarray,
        pack: np.ndarray,
        offset: np.ndarray,
        stored: np.ndarray,
        size: np.ndarray,
        codec: np.ndarray,
        packs: list[str],
        versions: list[str | None],
    ) -> None:
        self._rest = rest  # bytes 8..32 of each id; the first 8 are the sorted prefix
        self._prefix = prefix
        self._pack = pack
        self._offset = offset
        self._stored = stored
        self._size = size
        self._codec = codec
        self._packs = packs
        self._versions = versions

    @classmethod
    def empty(cls) -> ChunkIndex:
        return ChunkIndexBuilder().build()

    def __len__(self) -> int:
        return len(self._prefix)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (pack names aside: one string per pack, not per chunk)."""
        arrays = (self._rest, self._prefix, self._pack, self._offset, self._stored, self._size, self._codec)
        return sum(int(a.nbytes) for a in arrays)

    def get(self, chunk_id: bytes) -> ChunkRef | None:
        key = int.from_bytes(chunk_id[:8], "big")
        row = int(np.searchsorted(self._prefix, np.uint64(key)))
        while row < len(self._prefix) and int(self._prefix[row]) == key:
            if self._rest[row].tobytes() == chunk_id[8:]:
                number = int(self._pack[row])
                return ChunkRef(
                    chunk_id=chunk_id.hex(),
                    pack=self._packs[number],
                    offset=int(self._offset[row]),
                    stored=int(self._stored[row]),
                    size=int(self._size[row]),
                    codec=int(self._codec[row]),
                    version_id=self._versions[number],
                )
            row += 1
        return None
