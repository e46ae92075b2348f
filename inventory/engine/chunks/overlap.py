"""Work a backup overlaps on a helper thread: a file's SHA-256 while the chunk's id is computed.

Every byte of a file is hashed twice, once into the file's SHA-256 and once into its
chunk's keyed id (HMAC-SHA256). Both release the GIL for large buffers, so on a second
core they run side by side: the file hash of a chunk is started on the helper, the id
is computed on the caller's thread, and the helper is waited for before the chunk's
buffer is reused. Order is kept (one helper, one pending update at a time).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

# Below this the hand-over costs more than hashing on the caller's thread.
OVERLAP_MIN = 128 * 1024


class FileDigest:
    """SHA-256 of one file, fed chunk by chunk; large chunks are hashed on ``helper``."""

    def __init__(self, helper: ThreadPoolExecutor | None) -> None:
        self._digest = hashlib.sha256()
        self._helper = helper
        self._pending: Future[None] | None = None

    def update(self, data: bytes | memoryview) -> None:
        """Start hashing ``data``; it must stay unchanged until :meth:`wait` (or the next update)."""
        self.wait()
        if self._helper is not None and len(data) >= OVERLAP_MIN:
            self._pending = self._helper.submit(self._digest.update, data)
        else:
            self._digest.update(data)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def hexdigest(self) -> str:
        self.wait()
        return self._digest.hexdigest()
