"""Skip reading files a backup's parent point already holds unchanged (same size and change stamp).

What restic and borg call the files cache, kept here in the parent's own manifest: each
entry records the stamp its source gave (mtime, ctime and inode for local files). A
file whose size and stamp match its entry in the parent is not read again; its chunks
are referenced as they are, provided the vault's index still holds every one of them.
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

from inventory.engine.chunks.manifest import ChunkedFile, read_manifest_v2
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import EngineError
from inventory.engine.sources import SourceFile
from inventory.engine.vaults import Vault

RACY_NS = 2_000_000_000  # coarse stamps this close to the read are not trusted next time
RACY_FINE_NS = 100_000_000  # the same for stamps with sub-millisecond digits
_MS = 1_000_000


class ParentFiles:
    """The parent point's entries, streamed once in path order alongside the source's listing."""

    def __init__(self, *, vault: Vault, point: str | None, keyring: KeyRing) -> None:
        self._entries: Iterator[ChunkedFile] = iter(())
        self._current: ChunkedFile | None = None
        if not point:
            return
        try:
            # Authenticated whole first (one streamed pass): nothing of it is trusted before.
            manifest = read_manifest_v2(vault=vault, point=point, keyring=keyring)
            self._entries = manifest.files(keyring)
            self._current = next(self._entries, None)
        except EngineError:
            self._entries, self._current = iter(()), None  # no parent to lean on: read everything

    def unchanged(self, item: SourceFile) -> ChunkedFile | None:
        """The parent's entry for ``item`` when the file is the same by size and stamp, else None."""
        if not item.stamp:
            return None
        try:
            while self._current is not None and self._current.path < item.path:
                self._current = next(self._entries, None)
        except EngineError:
            self._current = None
        entry = self._current
        if entry is None or entry.path != item.path or entry.size != item.size or entry.stamp != item.stamp:
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
