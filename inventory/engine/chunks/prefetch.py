"""Chunks of the files a restore is about to stage, read and opened ahead on helper threads.

A restore hashes and writes each file in order. Reading a chunk from its pack,
authenticating it (AES-256-GCM), decompressing it and checking its keyed id all
release the GIL for large buffers, so they are done for the next chunks (of this file
and the following ones) on a small pool while the caller hashes and writes the current
one. Results are handed over strictly in manifest order; at most ``window`` bytes of
plaintext wait, so memory does not grow with the point's size or its number of files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inventory.engine.chunks.ref import ChunkRef

if TYPE_CHECKING:
    from inventory.engine.chunks.manifest import ChunkedFile

WORKERS = 2
WINDOW_BYTES = 32 * 1024 * 1024
# Entries read ahead of the caller at most (their chunks wait for room in the window).
AHEAD_ENTRIES = 1024


@dataclass
class _Job:
    seq: int
    ref: ChunkRef
    path: str
    future: Future[bytes] | None = None


class Prefetcher:
    """Hands out a point's entries and, for each, its chunks' plaintext opened ahead."""

    def __init__(
        self,
        read: Callable[[ChunkRef, str], bytes],
        *,
        workers: int = WORKERS,
        window: int = WINDOW_BYTES,
    ) -> None:
        self._read = read
        self._window = window
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore-read")
        self._jobs: deque[_Job] = deque()  # chunks of wanted entries, in order; the first ones submitted
        self._submitted = 0  # how many at the head of ``_jobs`` have a future
        self._in_window = 0  # plaintext bytes submitted and not yet handed over
        self._current = -1  # sequence number of the entry last handed to the caller

    def entries(self, entries: Iterable[ChunkedFile], wanted: Callable[[ChunkedFile], bool]) -> Iterator[ChunkedFile]:
        """``entries`` in order; the chunks of those ``wanted`` says will be staged are read ahead."""
        ahead: deque[tuple[int, ChunkedFile]] = deque()
        source = iter(enumerate(entries))
        exhausted = False
        while True:
            while not exhausted and len(ahead) < AHEAD_ENTRIES and self._in_window < self._window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                ahead.append(item)
                seq, entry = item
                if wanted(entry):
                    self._jobs.extend(_Job(seq, ref, entry.path) for ref in entry.chunks)
                    self._top_up()
            if not ahead:
                return
            self._current, entry = ahead.popleft()
            yield entry
            self._drop_before(self._current + 1)  # the caller is done with it, staged or not

    def plain(self, entry: ChunkedFile) -> Iterator[bytes]:
        """The plaintext of ``entry``'s chunks, in order (``entry`` is the last one handed out)."""
        self._drop_before(self._current)
        for ref in entry.chunks:
            if self._jobs and self._jobs[0].seq == self._current and self._jobs[0].ref is ref:
                job = self._jobs.popleft()
                if job.future is None:
                    yield self._read(ref, entry.path)
                    continue
                self._submitted -= 1
                self._in_window -= ref.size
                try:
                    data = job.future.result()
                finally:
                    self._top_up()
                yield data
            else:
                yield self._read(ref, entry.path)

    def _top_up(self) -> None:
        while self._submitted < len(self._jobs) and self._in_window < self._window:
            job = self._jobs[self._submitted]
            job.future = self._pool.submit(self._read, job.ref, job.path)
            self._submitted += 1
            self._in_window += job.ref.size

    def _drop_before(self, seq: int) -> None:
        """Forget chunks of entries the caller passed over (already in place, or abandoned)."""
        while self._jobs and self._jobs[0].seq < seq:
            job = self._jobs.popleft()
            if job.future is not None:
                job.future.cancel()
                self._submitted -= 1
                self._in_window -= job.ref.size
        self._top_up()

    def close(self) -> None:
        self._jobs.clear()
        self._submitted = self._in_window = 0
        self._pool.shutdown(wait=True, cancel_futures=True)
