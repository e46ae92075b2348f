"""Manifest format 2: a point of the chunk store, streamed as signed JSON lines.

Stored at ``<point>/manifest.v2`` (zstd-compressed), the *point object*. Line 1 is the
header, then the file entries, then ``{"skipped": …}`` lines, the totals, and last the
HMAC of every line before it. Where the entries are depends on the header's version:

* version 2 (points written before manifests were incremental): one line per file in
  path order (path, mode, size, SHA-256, chunk references), inline;
* version 3: one ``{"part": …}`` line per part, the reference of a chunk that holds a
  run of those same entry lines (:mod:`inventory.engine.chunks.entries`). Parts a
  point shares with its parent are stored once, so a backup of a mostly unchanged tree
  writes a short point object and the few parts that changed.

A reader never holds more than one file's line (version 2) or one part (version 3):
memory does not grow with the number of files, and the strictly increasing path order
proves no path appears twice. Both versions are read by everything that reads points;
nothing written in version 2 is ever rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inventory.engine.chunks.codec import ChunkKeys
from inventory.engine.chunks.entries import EntryParts, entry_line, part_records
from inventory.engine.chunks.store import ChunkRef, ChunkStore, MacLines, read_mac_lines
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import ManifestInvalid, ObjectMissing
from inventory.engine.fmt import format_utc, parse_utc
from inventory.engine.manifest import MANIFEST_FORMAT, check_relative_path
from inventory.engine.vaults import Vault

MANIFEST_V2 = 2  # the chunk store's point format, as the portal's database records it
MANIFEST_V3 = 3  # the point object's layout when its entries are in parts
MANIFEST_V2_NAME = "manifest.v2"


def manifest_v2_key(point: str) -> str:
    return f"{point}/{MANIFEST_V2_NAME}"


@dataclass(frozen=True)
class ChunkedFile:
    path: str
    mode: int
    size: int
    sha256: str
    chunks: tuple[ChunkRef, ...]
    stamp: str = ""  # the source's change stamp when it was read (see SourceFile.stamp)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "mode": f"{self.mode:04o}",
            "size": self.size,
            "sha256": self.sha256,
            "chunks": [ref.to_json() for ref in self.chunks],
        }
        if self.stamp:
            data["stamp"] = self.stamp
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkedFile:
        try:
            entry = cls(
                path=check_relative_path(str(data["path"])),
                mode=int(str(data["mode"]), 8),
                size=int(data["size"]),
                sha256=str(data["sha256"]),
                chunks=tuple(ChunkRef.from_json(row) for row in data["chunks"]),
                stamp=str(data.get("stamp") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestInvalid(f"A manifest file entry is incomplete or malformed ({exc}).") from None
        if len(entry.sha256) != 64 or not 0 <= entry.mode <= 0o777 or sum(r.size for r in entry.chunks) != entry.size:
            raise ManifestInvalid(f"The manifest entry for {entry.path!r} has a bad size, mode or hash.")
        return entry


@dataclass
class PointTotals:
    files: int = 0
    bytes: int = 0
    chunks: int = 0
    new_chunks: int = 0
    new_bytes: int = 0
    reused_bytes: int = 0
    stored_new_bytes: int = 0
    skipped: int = 0
    duration_ms: int = 0
    files_unread: int = 0  # unchanged since the parent point by size and stamp, so not read
    manifest_parts: int = 0  # chunks holding the file entries (layout 3)
    manifest_new_parts: int = 0  # of which this point stored (the rest are its parent's)
    manifest_stored_new_bytes: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: object) -> PointTotals:
        if not isinstance(data, dict):
            raise ManifestInvalid("The manifest's totals are malformed.")
        try:
            return cls(**{name: int(data.get(name, 0)) for name in cls().__dict__})
        except (TypeError, ValueError):
            raise ManifestInvalid("The manifest's totals are malformed.") from None

    @property
    def compression_ratio(self) -> float | None:
        """Plain bytes of the new chunks per stored byte (1.0 = nothing gained)."""
        return round(self.new_bytes / self.stored_new_bytes, 3) if self.stored_new_bytes else None


@dataclass
class ChunkedManifest:
    """The header and totals of a format-2 point; :meth:`files` streams its entries."""

    vault: Vault
    point: str
    source: str
    key_id: str
    salt: str
    created_at: datetime
    data_as_of: datetime
    retain_until: datetime | None
    totals: PointTotals
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = MANIFEST_V2
    screening: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_key(self) -> str:
        return manifest_v2_key(self.point)

    @property
    def total_files(self) -> int:
        return self.totals.files

    @property
    def total_bytes(self) -> int:
        return self.totals.bytes

    def files(self, keyring: KeyRing) -> Iterator[ChunkedFile]:
        """Every file entry, in path order. The MAC is checked when the stream ends.

        In layout 3 the order and the totals are checked as the parts are read, and every
        part is authenticated against the id the point object gives it.
        """
        if self.version == MANIFEST_V2:
            for record in _records(self.vault, self.point, keyring):
                if "path" in record:
                    yield ChunkedFile.from_json(record)
            return
        keys = ChunkKeys(keyring, self.key_id, bytes.fromhex(self.salt))
        files = size = 0
        previous = ""
        for record in part_records(self.vault, keys, self.parts(keyring), what=self.manifest_key):
            entry = ChunkedFile.from_json(record)
            if files and entry.path <= previous:
                raise ManifestInvalid(f"The manifest of {self.point} lists {entry.path!r} out of order or twice.")
            previous = entry.path
            files += 1
            size += entry.size
            yield entry
        if files != self.totals.files or size != self.totals.bytes:
            raise ManifestInvalid(f"The manifest of {self.point}: totals do not add up to its file list.")

    def parts(self, keyring: KeyRing) -> Iterator[ChunkRef]:
        """The chunks that hold the file entries (none in layout 2, where they are inline)."""
        if self.version == MANIFEST_V2:
            return
        for record in _records(self.vault, self.point, keyring, entries=False):
            if "part" in record:
                yield ChunkRef.from_json(record["part"])

    def summary(self) -> dict[str, Any]:
        """What the database keeps of a format-2 point (the manifest itself stays in the vault)."""
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_V2,
            "point": self.point,
            "source": self.source,
            "key_id": self.key_id,
            "created_at": format_utc(self.created_at),
            "data_as_of": format_utc(self.data_as_of),
            "retain_until": format_utc(self.retain_until) if self.retain_until else None,
            "totals": self.totals.to_json(),
            "manifest": self.manifest_key,
        }


_ENTRY_LINE = b'{"path":'


def _records(vault: Vault, point: str, keyring: KeyRing, *, entries: bool = True) -> Iterator[dict[str, Any]]:
    key = manifest_v2_key(point)
    with vault.open(key) as stream:
        yield from read_mac_lines(
            stream,
            keyring=keyring,
            key_id_of=None,
            what=f"The manifest of {point}",
            skip=None if entries else _ENTRY_LINE,
        )


class ManifestWriter:
    """Writes a point in layout 3: entries into parts in ``store``, the point object spooled to disk.

    Call :meth:`add` for each entry in path order, :meth:`end_entries` once they are all
    given (it writes the last parts' pack, which must then be made durable and indexed
    with the rest), and :meth:`finish` for the point object's bytes.
    """

    def __init__(
        self, *, keyring: KeyRing, header: dict[str, Any], store: ChunkStore, retain_until: datetime | None
    ) -> None:
        self._lines = MacLines(keyring, str(header["key_id"]))
        self._lines.write({"format": MANIFEST_FORMAT, "version": MANIFEST_V3, **header})
        self._parts = EntryParts(store, retain_until=retain_until)

    def add(self, entry: ChunkedFile) -> None:
        self._parts.add(entry_line(entry.to_json()))
        self._list_ready()

    def _list_ready(self) -> None:
        for ref in self._parts.ready():
            self._lines.write({"part": ref.to_json()})

    def end_entries(self) -> None:
        self._parts.end()
        self._list_ready()

    def finish(
        self, *, skipped: list[dict[str, str]], totals: PointTotals, screening: dict[str, Any] | None = None
    ) -> Iterator[bytes]:
        totals.manifest_parts = self._parts.parts
        totals.manifest_new_parts = self._parts.new_parts
        totals.manifest_stored_new_bytes = self._parts.stored_new_bytes
        for item in skipped:
            self._lines.write({"skipped": item})
        return self._lines.finish({"totals": totals.to_json(), "screening": screening or {}})


def read_manifest_v2(*, vault: Vault, point: str, keyring: KeyRing, entries: bool = True) -> ChunkedManifest:
    """Read and authenticate a whole format-2 manifest (streamed) and return its header and totals.

    Checks the MAC, that paths are safe and strictly increasing (so unique), and that the
    totals add up; :class:`ObjectMissing` when the point has no format-2 manifest. With
    ``entries=False`` the file lines are authenticated and counted but not parsed (a
    reader that parses them later, or that just wrote them, needs no second check); in
    layout 3 only the point object is read then, and :meth:`ChunkedManifest.files` checks
    the entries as it reads the parts.
    """
    header: dict[str, Any] | None = None
    totals: PointTotals | None = None
    screening: dict[str, Any] = {}
    files = size = 0
    previous = ""
    for record in _records(vault, point, keyring, entries=entries):
        if not record:
            files += 1  # an entry line left unparsed
        elif header is None:
            if record.get("format") != MANIFEST_FORMAT or record.get("version") not in (MANIFEST_V2, MANIFEST_V3):
                raise ManifestInvalid(f"The manifest of {point} is not a format-2 DR Portal manifest.")
            header = record
        elif "path" in record:
            entry = ChunkedFile.from_json(record)
            if files and entry.path <= previous:
                raise ManifestInvalid(f"The manifest of {point} lists {entry.path!r} out of order or twice.")
            previous = entry.path
            files += 1
            size += entry.size
        elif "totals" in record:
            totals = PointTotals.from_json(record["totals"])
            screening = dict(record.get("screening") or {})
    if header is None or totals is None:
        raise ManifestInvalid(f"The manifest of {point} has no header or no totals.")
    layered = header["version"] == MANIFEST_V3
    if layered and files:
        raise ManifestInvalid(f"The manifest of {point} lists files inline and in parts.")
    if not layered and (totals.files != files or (entries and totals.bytes != size)):
        raise ManifestInvalid(f"The manifest of {point}: totals do not add up to its file list.")
    if header.get("point") != point:
        raise ManifestInvalid(f"The manifest stored at {point!r} describes point {header.get('point')!r}.")
    try:
        retain = header.get("retain_until")
        manifest = ChunkedManifest(
            vault=vault,
            point=point,
            source=str(header["source"]),
            key_id=str(header["key_id"]),
            salt=str(header["salt"]),
            created_at=parse_utc(str(header["created_at"])),
            data_as_of=parse_utc(str(header["data_as_of"])),
            retain_until=parse_utc(str(retain)) if retain else None,
            totals=totals,
            extra=dict(header.get("extra") or {}),
            version=int(header["version"]),
            screening=screening,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestInvalid(f"The manifest of {point} is incomplete ({exc}).") from None
    if layered and entries:
        for _entry in manifest.files(keyring):  # reads every part: order and totals are checked
            pass
    return manifest


__all__ = [
    "ChunkedFile",
    "ChunkedManifest",
    "ManifestWriter",
    "ObjectMissing",
    "PointTotals",
    "manifest_v2_key",
    "read_manifest_v2",
]
