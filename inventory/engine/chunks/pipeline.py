"""A backup's chunks on every core: ids and sealing in a small pool, results taken in order.

The backup's own thread reads, cuts and computes each chunk's id (HMAC-SHA256) while
the chunk is still in its cache; the rest runs on other threads, where it releases the
GIL (measured in docs/benchmarks.md, "Session 7"): compression (zstd) and sealing in a
small pool, the file's SHA-256 on the ``file-hash`` helper. AES-GCM holds the GIL in
the ``cryptography`` this project pins, but it is a tenth of the work. (Computing the
ids in the pool too was tried: it took more CPU and was slower on vectors.)

Each chunk goes through two steps on the caller's thread, in the order the chunks came in:

1. it is *classified* when added: a chunk the store holds, or one an earlier chunk of
   the window is already being sealed for, is not sealed again; any other is handed to
   the pool to be compressed and sealed;
2. it is *committed* by the caller's ``commit``, strictly in order, once its sealed
   form and its file-hash update are done.

A chunk under ``INLINE_BELOW`` is hashed on the caller's thread and sealed by
``commit`` (a hand-over would cost more than the work), and when nothing waits ahead
of it, it is committed at once: a tree of small files runs as it would without a pipeline.

So the store sees the same chunks in the same order as if everything ran on one
thread: pack layout, dedup and the order of side effects do not depend on which
worker finished first. At most ``window_bytes`` of plaintext (and as much sealed
data) wait between the first step and the last; the caller blocks beyond that. A
worker's error is raised to the caller at its next call; :meth:`close` cancels what
has not started and waits for what has, so nothing runs after a failed backup.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from inventory.engine.chunks.codec import ChunkKeys, SealedChunk

# Plaintext handed to the pool and not yet committed; the sealed copies are at most
# as much again, so the window holds about twice this (the packs come on top).
WINDOW_BYTES = 8 * 1024 * 1024
WINDOW_CHUNKS = 1024  # also bounded in count, for trees of tiny files
# Below this a hand-over to a thread costs more than the work: the caller does it.
INLINE_BELOW = 64 * 1024
WORKERS = max(2, min(4, os.cpu_count() or 2))


@dataclass(eq=False)
class PendingFile:
    """A file whose chunks are in the pipeline; ``tag`` is the caller's."""

    tag: Any
    digest: Any = field(default_factory=hashlib.sha256)
    last_update: Future[None] | None = None


@dataclass(eq=False)
class Committed:
    """A chunk ready for the store: its id, and its sealed form if a worker sealed it.

    ``sealed`` is None for a chunk the store held when it was classified, one sealed for an
    earlier chunk, and a small one: ``commit`` seals it itself if the store lacks it.
    """

    file: PendingFile
    plain: bytes
    chunk_id: str
    sealed: SealedChunk | None


@dataclass(eq=False)
class _Slot:
    file: PendingFile
    plain: bytes = b""
    chunk_id: str = ""
    seal_job: Future[SealedChunk] | None = None
    hashed: Future[None] | None = None
    end: bool = False  # marks the end of its file, committed after the file's chunks


class ChunkPipeline:
    """Chunks in, :class:`Committed` chunks out through ``commit``, in the order they went in."""

    def __init__(
        self,
        *,
        keys: ChunkKeys,
        stored: Callable[[str], bool],
        commit: Callable[[Committed], None],
        end_file: Callable[[PendingFile], None],
        workers: int = WORKERS,
        window_bytes: int = WINDOW_BYTES,
        window_chunks: int = WINDOW_CHUNKS,
    ) -> None:
        self._keys = keys
        self._stored = stored
        self._commit = commit
        self._end_file = end_file
        self._window_bytes = window_bytes
        self._window_chunks = window_chunks
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk-work")
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-hash")  # one: updates in order
        self._slots: deque[_Slot] = deque()  # every slot not committed, in order
        self._sealing: dict[str, int] = {}  # ids being sealed in the window → slots that wait for them
        self.bytes_in_flight = 0
        self.peak_bytes = 0

    def file(self, tag: Any) -> PendingFile:
        return PendingFile(tag=tag)

    def add(self, file: PendingFile, plain: bytes, chunk_id: str | None = None) -> None:
        """Queue a chunk of ``file`` (``plain`` must not change afterwards); ``chunk_id`` if known."""
        chunk_id = chunk_id or self._keys.chunk_id(plain)
        previous = file.last_update
        if len(plain) < INLINE_BELOW and not self._slots and (previous is None or previous.done()):
            if previous is not None:
                previous.result()
            file.digest.update(plain)
            self._commit(Committed(file=file, plain=plain, chunk_id=chunk_id, sealed=None))
            return
        slot = _Slot(file=file, plain=plain, chunk_id=chunk_id)
        # The file's SHA-256 runs on one helper, in order; a small update is done here
        # when the helper has nothing of this file left to do.
        if len(plain) < INLINE_BELOW and (previous is None or previous.done()):
            if previous is not None:
                previous.result()
            file.digest.update(plain)
        else:
            slot.hashed = file.last_update = self._hasher.submit(file.digest.update, plain)
        self._classify(slot)
        self._slots.append(slot)
        self.bytes_in_flight += len(plain)
        self.peak_bytes = max(self.peak_bytes, self.bytes_in_flight)
        self._advance(until=self._has_room)

    def end(self, file: PendingFile) -> None:
        """Every chunk of ``file`` is in: ``end_file`` is called once they are all committed."""
        if not self._slots:
            self._end_file(file)
            return
        self._slots.append(_Slot(file=file, end=True))
        self._advance(until=self._has_room)

    def hexdigest(self, file: PendingFile) -> str:
        """The file's SHA-256 (for ``end_file``: every update of the file is done by then)."""
        if file.last_update is not None:
            file.last_update.result()
        return str(file.digest.hexdigest())

    def finish(self) -> None:
        """Commit everything queued."""
        self._advance(until=lambda: not self._slots)

    def close(self) -> None:
        """Drop what has not started, wait for what has (also after an error)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._hasher.shutdown(wait=True, cancel_futures=True)
        self._slots.clear()

    def _has_room(self) -> bool:
        return self.bytes_in_flight <= self._window_bytes and len(self._slots) <= self._window_chunks

    def _advance(self, *, until: Callable[[], bool]) -> None:
        """Commit what is ready, waiting for the workers until ``until()`` holds."""
        while True:
            while self._slots and self._ready(self._slots[0]):
                self._commit_head()
            if until():
                return
            wait(self._blocking(), return_when=FIRST_COMPLETED)

    def _classify(self, slot: _Slot) -> None:
        chunk_id = slot.chunk_id
        if len(slot.plain) < INLINE_BELOW:
            return  # sealed by ``commit`` on the caller's thread if the store lacks it, as without a pipeline
        if chunk_id in self._sealing:
            self._sealing[chunk_id] += 1  # an earlier chunk of the window brings it
        elif not self._stored(chunk_id):
            self._sealing[chunk_id] = 1
            slot.seal_job = self._pool.submit(self._keys.seal, chunk_id, slot.plain)

    @staticmethod
    def _ready(slot: _Slot) -> bool:
        return all(job is None or job.done() for job in (slot.seal_job, slot.hashed))

    def _commit_head(self) -> None:
        slot = self._slots.popleft()
        if slot.end:
            self._end_file(slot.file)
            return
        if slot.hashed is not None:
            slot.hashed.result()
        sealed = slot.seal_job.result() if slot.seal_job is not None else None
        chunk_id = slot.chunk_id
        left = self._sealing.get(chunk_id, 0)
        if left > 1:
            self._sealing[chunk_id] = left - 1
        elif left:
            del self._sealing[chunk_id]
        self.bytes_in_flight -= len(slot.plain)
        self._commit(Committed(file=slot.file, plain=slot.plain, chunk_id=chunk_id, sealed=sealed))

    def _blocking(self) -> list[Future[Any]]:
        """What the first slot waits for: it is the next to commit."""
        head = self._slots[0]
        return [job for job in (head.seal_job, head.hashed) if job is not None and not job.done()]
