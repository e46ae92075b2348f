"""Where one chunk is kept: the row of a manifest's file entry and of a chunk index segment."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.engine.errors import ManifestInvalid


@dataclass(frozen=True)
class ChunkRef:
    """Where one chunk is kept: ``stored`` bytes at ``offset`` of the pack object ``pack``."""

    chunk_id: str
    pack: str
    offset: int
    stored: int
    size: int
    codec: int
    version_id: str | None = None

    def to_json(self) -> list[object]:
        row: list[object] = [self.chunk_id, self.pack, self.offset, self.stored, self.size, self.codec]
        if self.version_id is not None:
            row.append(self.version_id)
        return row

    @classmethod
    def from_json(cls, row: object) -> ChunkRef:
        if not isinstance(row, list) or len(row) not in (6, 7):
            raise ManifestInvalid("A chunk reference is malformed.")
        try:
            ref = cls(
                chunk_id=str(row[0]),
                pack=str(row[1]),
                offset=int(row[2]),
                stored=int(row[3]),
                size=int(row[4]),
                codec=int(row[5]),
                version_id=str(row[6]) if len(row) == 7 else None,
            )
        except (TypeError, ValueError):
            raise ManifestInvalid("A chunk reference is malformed.") from None
        if len(ref.chunk_id) != 64 or ref.offset < 0 or ref.stored <= 0 or ref.size < 0:
            raise ManifestInvalid(f"The chunk reference {ref.chunk_id[:16]!r} is malformed.")
        return ref
