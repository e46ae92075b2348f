"""Helper threads of a restore: one writes large chunks, one creates the next files to stage.

Both move kernel work off the thread that decrypts and hashes: ``pwrite`` into the page
cache, and allocating an inode for each new file, which on a busy ext4 volume is most
of what restoring a small file costs (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from inventory.engine.in_order import InOrder

if TYPE_CHECKING:
    from inventory.engine.restore import _Places

THREADED_WRITE_MIN = 256 * 1024
PART_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def write_all(fd: int, data: bytes, offset: int) -> None:
    # pwrite with explicit offsets: chunks written here and on the writer thread can
    # never land out of order, whichever finishes first.
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view = view[done:]
        offset += done


class Writer(InOrder):
    """Writes chunks on a second thread while the caller decrypts and hashes the next one.

    Both ``os.pwrite`` and SHA-256 of large buffers release the GIL, so on two cores the
    copy into the page cache overlaps with the hashing instead of following it.
    """

    def __init__(self, depth: int = 3) -> None:
        super().__init__("restore-writer", depth)

    def write(self, fd: int, data: bytes, offset: int) -> None:
        self.call(write_all, fd, data, offset)


class PartMaker:
    """Creates the staging file (``.part``) of files about to be staged, on a helper thread.

    Only files with nothing in the target yet are handed here (in manifest order), so a
    part created ahead holds nothing of value: :meth:`close` removes those never taken.
    """

    def __init__(self, places: _Places) -> None:
        self._places = places
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-create")
        self._made: dict[str, Future[tuple[str, str]]] = {}

    def ahead(self, path: str) -> None:
        self._made[path] = self._pool.submit(self._make, path)

    def _make(self, path: str) -> tuple[str, str]:
        found = self._places.of(path, create=True)
        if found is None:
            raise FileNotFoundError(path)
        os.close(os.open(found[1], PART_FLAGS, 0o600))
        return found

    def take(self, path: str) -> tuple[str, str] | None:
        """The final and part names of ``path`` if its part was made ahead; None to do it the usual way."""
        made = self._made.pop(path, None)
        if made is None:
            return None
        try:
            return made.result()
        except Exception:
            return None

    def close(self) -> None:
        """Wait for the helper, then remove the parts it made that were never staged."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        made, self._made = self._made, {}
        for future in made.values():
            if future.cancelled() or future.exception() is not None:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(future.result()[1])
