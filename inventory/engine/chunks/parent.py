"""Skip reading files a backup's parent point already holds unchanged (same size and change stamp).

What restic and borg call the files cache, kept here in the parent's own manifest: each
entry records the stamp its source gave (mtime, ctime and inode for local files). A
file whose size and stamp match its entry in the parent is not read again; its chunks
are referenced as they are, provided the vault's index still holds every one of them.

A file that did change is cut where its parent entry was cut for as long as the parent's
chunks still match (:func:`guided_chunks`), and by content only from the first chunk that
differs. An appended file therefore keeps its old last chunk, which content-defined
cutting alone would merge with the new bytes and store again (up to four times the
average chunk size for a few appended bytes).
A stamp is only recorded when the file had not changed for a while before it was opened:
a file rewritten within the same tick of the file system's clock as its last change
before the read would keep its stamp, so such a "racy" file is read again next time.
How long "a while" is depends on the clock the stamps show: nanosecond stamps (ext4,
xfs, btrfs, tmpfs) tick every few milliseconds, so a tenth of a second is plenty;
stamps in whole milliseconds or seconds (FAT, HFS+, some network file systems) get
two seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from inventory.engine.chunks.manifest import ChunkedFile, read_manifest_v2
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import EngineError
from inventory.engine.sources import SourceFile
from inventory.engine.vaults import Vault

if TYPE_CHECKING:
    from inventory.engine.chunks.backup import Chunker
    from inventory.engine.chunks.codec import ChunkKeys
    from inventory.engine.chunks.ref import ChunkRef

RACY_NS = 2_000_000_000  # coarse stamps this close to the read are not trusted next time
RACY_FINE_NS = 100_000_000  # the same for stamps with sub-millisecond digits
_MS = 1_000_000


class ParentFiles:
    """The parent point's entries, streamed once in path order alongside the source's listing."""

    def __init__(self, *, vault: Vault, point: str | None, keyring: KeyRing, key_id: str, salt: bytes) -> None:
        self._entries: Iterator[ChunkedFile] = iter(())
        self._current: ChunkedFile | None = None
        if not point:
            return
        try:
            # Authenticated whole first (one streamed pass, entries checked for their MAC only):
            # nothing of it is trusted before. Each entry is parsed and checked as it is used.
            manifest = read_manifest_v2(vault=vault, point=point, keyring=keyring, entries=False)
            if manifest.key_id != key_id or manifest.salt != salt.hex():
                return  # sealed under another key: its chunks are not this backup's to reference
            self._entries = manifest.files(keyring)
            self._current = next(self._entries, None)
        except EngineError:
            self._entries, self._current = iter(()), None  # no parent to lean on: read everything

    def entry(self, path: str) -> ChunkedFile | None:
        """The parent's entry for ``path``, if it has one (paths must be asked in increasing order)."""
        try:
            while self._current is not None and self._current.path < path:
                self._current = next(self._entries, None)
        except EngineError:
            self._current = None
        entry = self._current
        return entry if entry is not None and entry.path == path else None

    def unchanged(self, item: SourceFile) -> ChunkedFile | None:
        """The parent's entry for ``item`` when the file is the same by size and stamp, else None."""
        entry = self.entry(item.path)
        if entry is None or not item.stamp or entry.size != item.size or entry.stamp != item.stamp:
            return None
        return entry


def stamp_to_record(item: SourceFile, *, read_ns: int) -> str:
    """The stamp to keep for a file opened at ``read_ns``: empty when it changed too close to that."""
    if not item.stamp:
        return ""
    try:
        mtime_ns, ctime_ns = (int(part) for part in item.stamp.split(":")[:2])
    except ValueError:
        return ""
    coarse = mtime_ns % _MS == 0 and ctime_ns % _MS == 0
    window = RACY_NS if coarse else RACY_FINE_NS
    return "" if max(mtime_ns, ctime_ns) >= read_ns - window else item.stamp


class _Prefixed:
    """A stream that first gives back ``head`` (bytes already read), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._stream, "readinto", None)
        if readinto is not None:
            got: int = readinto(buffer)
            return got
        data: bytes = self._stream.read(len(buffer))  # a stream that only reads (an S3 body)
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            n = len(self._head) if size < 0 else min(size, len(self._head))
            data = bytes(self._head[:n])
            self._head = self._head[n:]
            return data
        data_: bytes = self._stream.read(size)
        return data_


def _read_exactly(stream: Any, size: int) -> bytes:
    parts = []
    left = size
    while left and (data := stream.read(left)):
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def guided_chunks(
    *,
    chunker: Chunker,
    keys: ChunkKeys,
    stream: Any,
    size: int,
    guide: tuple[ChunkRef, ...],
) -> Iterator[tuple[bytes, str | None]]:
    """Yield ``(chunk, id)`` for a file of ``size`` bytes that its parent cut as ``guide``.

    The parent's cuts are followed while each chunk read at them hashes to the parent's
    id; from the first that does not (or once they run out), the rest of the file is cut
    by content as if it were a file of its own. A chunk cut by content comes with no id
    (the caller has it computed on a worker thread) and is a copy the caller may keep.
    """
    offset = 0
    head = b""
    for ref in guide:
        if ref.size == 0 or offset + ref.size > size:
            break
        data = _read_exactly(stream, ref.size)
        chunk_id = keys.chunk_id(data)
        if len(data) != ref.size or chunk_id != ref.chunk_id:
            head = data
            break
        yield data, chunk_id
        offset += ref.size
    for plain in chunker.chunks(_Prefixed(head, stream), size - offset):
        if offset and not plain:
            continue  # the file ended with the parent's last cut: no empty chunk after it
        yield bytes(plain), None  # the chunker reuses its buffer; the copy waits in the pipeline
