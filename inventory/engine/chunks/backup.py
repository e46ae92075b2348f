"""Back up a tree into the chunk store: content-defined chunks, each stored once per vault."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyfastcdc import FastCDC

from inventory.engine.chunks.manifest import (
    ChunkedFile,
    ChunkedManifest,
    ManifestWriter,
    PointTotals,
    manifest_v2_key,
    read_manifest_v2,
)
from inventory.engine.chunks.parent import ParentFiles, guided_chunks, stamp_to_record
from inventory.engine.chunks.pipeline import ChunkPipeline, Committed, PendingFile
from inventory.engine.chunks.prune import backup_lock
from inventory.engine.chunks.screen import Screening
from inventory.engine.chunks.store import ChunkRef, ChunkStore
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import ManifestInvalid, VaultFull
from inventory.engine.fmt import format_utc, human_size
from inventory.engine.points import begin_point
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.sources import Source, SourceFile, listing
from inventory.engine.vaults import S3Config, Vault

# pyfastcdc's average is ``avg_size + min_size`` (cut-point skipping), so 768 KiB with a
# quarter of it as minimum gives chunks of about 1 MiB (measured in docs/benchmarks.md).
AVERAGE_CHUNK = 1024 * 1024
_READ = 1024 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Chunker:
    """Cuts a stream into content-defined chunks of about ``average`` bytes (FastCDC 2020).

    A file of at most ``whole_below`` bytes is one chunk: small files never pay for
    cutting, and equal small files are stored once.
    """

    def __init__(self, average: int = AVERAGE_CHUNK) -> None:
        if not 4096 <= average <= 4 * 1024 * 1024:
            raise ValueError("the average chunk size must be between 4 KiB and 4 MiB")
        self.average = average
        avg_param = average * 3 // 4
        self._cdc = FastCDC(avg_param, min_size=avg_param // 4, max_size=average * 4)
        self.whole_below = average

    def chunks(self, stream: Any, size: int) -> Iterator[bytes | memoryview]:
        """Yield the chunks of ``stream``; each is only valid until the next one is asked for."""
        if size <= self.whole_below:
            parts = []
            while data := stream.read(_READ):
                parts.append(data)
            yield b"".join(parts)
            return
        for chunk in self._cdc.cut_stream(stream):
            yield chunk.data


def backup_chunked(
    *,
    source: str | Path | Source,
    vault: Vault,
    point_prefix: str,
    keyring: KeyRing,
    key_id: str,
    retain_until: datetime | None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    average_chunk: int = AVERAGE_CHUNK,
    s3: S3Config | None = None,
    data_as_of: datetime | None = None,
    extra: dict[str, Any] | None = None,
    check_interval: float = 0.5,
    clock: Callable[[], datetime] = _utcnow,
    pack_size: int | None = None,
    fresh_chain: bool = False,
    parent: str | None = None,
) -> ChunkedManifest:
    """Back up ``source`` as point ``point_prefix`` through the vault's chunk store.

    With ``fresh_chain`` the vault's index is not consulted: every chunk is stored anew
    (a full chain), so damage to an old chunk cannot reach this point or later ones.
    ``parent`` names the asset's previous point in this vault: files it holds with the
    same size and change stamp are not read again (:mod:`inventory.engine.chunks.parent`).

    Each file is cut by content; a chunk whose id the vault's index already holds is
    referenced, not stored again. New chunks go into packs; when the packs are durable
    an index segment naming them is written, then the format-2 manifest, which is read
    back and authenticated before this returns. A failure leaves no manifest.
    """
    started = time.monotonic()
    src = begin_point(
        source=source,
        vault=vault,
        point_prefix=point_prefix,
        keyring=keyring,
        key_id=key_id,
        retain_until=retain_until,
        s3=s3,
        clock=clock,
    )
    as_of = data_as_of or clock()
    lock = backup_lock(vault)  # a prune never sweeps while this backup may reference chunks
    store = ChunkStore(vault=vault, keyring=keyring, key_id=key_id, **({"pack_size": pack_size} if pack_size else {}))
    try:
        return _backup(
            store=store,
            src=src,
            vault=vault,
            point_prefix=point_prefix,
            keyring=keyring,
            key_id=key_id,
            retain_until=retain_until,
            progress=progress,
            should_cancel=should_cancel,
            average_chunk=average_chunk,
            as_of=as_of,
            extra=extra,
            check_interval=check_interval,
            clock=clock,
            started=started,
            fresh_chain=fresh_chain,
            parent=None if fresh_chain else parent,
        )
    except VaultFull as exc:
        raise _full(vault, store, exc) from None
    except BaseException:
        store.discard_written()
        raise
    finally:
        store.close()
        lock.release()


def _full(vault: Vault, store: ChunkStore, exc: VaultFull) -> VaultFull:
    """A full vault is final: say what was needed and what is free, and take back what was written."""
    needed = store.stored_bytes + store.pending_bytes
    deleted, kept = store.discard_written()
    free = vault.free_bytes()
    free_text = f"{free} bytes are free ({human_size(free)})" if free is not None else "the free space is unknown"
    final = "No point was recorded and it will not be retried."
    if not needed and not deleted and not kept:
        # Refused before any pack was sealed (the fresh-chain check, or the first write): there is
        # no "needed at least 0 bytes" to report and nothing to take back; the cause says the rest.
        if vault.uri in str(exc):
            return VaultFull(f"{exc} {final}")
        return VaultFull(f"The vault at {vault.uri} is full ({free_text}); nothing was written: {exc} {final}")
    after = ""
    if deleted or kept:
        packs = f"{deleted} pack it had written was" if deleted == 1 else f"{deleted} packs it had written were"
        after = (
            f" The {packs} deleted"
            + (f"; {len(kept)} stay under their lock until a prune may take them" if kept else "")
            + "."
        )
    return VaultFull(
        f"The vault at {vault.uri} is full: this backup needed at least {needed} bytes "
        f"({human_size(needed)}) of new data and {free_text}. {final}{after} ({exc})"
    )


def _backup(
    *,
    src: Source,
    vault: Vault,
    point_prefix: str,
    keyring: KeyRing,
    key_id: str,
    retain_until: datetime | None,
    progress: ProgressFn | None,
    should_cancel: CancelFn | None,
    average_chunk: int,
    as_of: datetime,
    extra: dict[str, Any] | None,
    check_interval: float,
    clock: Callable[[], datetime],
    started: float,
    fresh_chain: bool,
    store: ChunkStore,
    parent: str | None,
) -> ChunkedManifest:
    if not fresh_chain:
        store.load_index()
    listed = listing(src)  # streamed: no list of every file is held
    ticker = Ticker(
        total=listed.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="The backup",
    )
    ticker.files_total = listed.count
    free = vault.free_bytes()
    if fresh_chain and free is not None and listed.total_bytes > free:
        # A fresh chain stores every byte again; compression may save some, but not this much.
        raise VaultFull(
            f"The vault at {vault.uri} has {free} bytes ({human_size(free)}) free but this backup starts a fresh "
            f"chain of {listed.total_bytes} bytes ({human_size(listed.total_bytes)}); nothing was written."
        )
    ticker.poll(force=True)
    chunker = Chunker(average_chunk)
    totals = PointTotals(skipped=len(listed.skipped))
    header = {
        "point": point_prefix,
        "source": src.uri,
        "cipher": "AES-256-GCM",
        "key_id": key_id,
        "salt": store.salt.hex(),
        "average_chunk": average_chunk,
        "created_at": format_utc(clock()),
        "data_as_of": format_utc(as_of),
        "retain_until": format_utc(retain_until) if retain_until else None,
        "extra": dict(extra or {}),
        "fresh_chain": fresh_chain,
    }
    writer = ManifestWriter(keyring=keyring, header=header, store=store, retain_until=retain_until)
    screening = Screening()
    # A file's line is written once every pack it uses is stored (S3 gives each pack a
    # version id then); until then it waits here. Only files touching the pack being
    # filled can wait, so this stays small however many files the tree has.
    waiting: deque[ChunkedFile] = deque()

    def drain(*, everything: bool = False) -> None:
        while waiting and (everything or not store.waiting(waiting[0].chunks)):
            writer.add(_resolved(store, waiting.popleft()))

    parents = ParentFiles(vault=vault, point=parent, keyring=keyring, key_id=key_id, salt=store.salt)

    def unchanged(item: SourceFile) -> ChunkedFile | None:
        entry = parents.unchanged(item)
        if entry is None:
            return None
        kept = entry.chunks
        if not all(store.has_pack(ref.pack) for ref in kept):
            return None  # a pack of it was pruned meanwhile (prune takes whole packs): read the file again
        for ref in kept:
            store.hold(ref, retain_until=retain_until)
        totals.files += 1
        totals.files_unread += 1
        totals.bytes += entry.size
        totals.reused_bytes += entry.size
        totals.chunks += len(kept)
        ticker.add(entry.size)
        ticker.files_done += 1
        return ChunkedFile(
            path=item.path, mode=item.mode, size=entry.size, sha256=entry.sha256, chunks=kept, stamp=entry.stamp
        )

    def commit(done: Committed) -> None:
        # On this thread, in the order the chunks were cut: the store, the totals and the
        # screening see them as if nothing ran beside (see pipeline.py).
        reading: _Reading = done.file.tag
        plain = done.plain
        if not reading.refs:
            screening.check(reading.item.path, plain, reading.item.size)
        ref = store.lookup(done.chunk_id)
        if ref is None:
            sealed = done.sealed or store.keys.seal(done.chunk_id, plain)
            ref = store.add_sealed(done.chunk_id, sealed, len(plain), retain_until=retain_until)
            screening.sample(plain)
            totals.new_chunks += 1
            totals.new_bytes += len(plain)
            totals.stored_new_bytes += ref.stored
        else:
            store.hold(ref, retain_until=retain_until)
            totals.reused_bytes += len(plain)
        reading.refs.append(ref)
        reading.size += len(plain)
        ticker.add(len(plain))

    def end_file(file: PendingFile) -> None:
        reading: _Reading = file.tag
        entry = reading.unchanged
        if entry is None:
            item, size = reading.item, reading.size
            totals.files += 1
            totals.bytes += size
            totals.chunks += len(reading.refs)
            ticker.files_done += 1
            entry = ChunkedFile(
                path=item.path,
                mode=item.mode,
                size=size,
                sha256=pipeline.hexdigest(file),
                chunks=tuple(reading.refs),
                stamp=stamp_to_record(item, read_ns=reading.read_ns) if size == item.size else "",
            )
        waiting.append(entry)
        drain()

    def read(item: SourceFile, file: PendingFile) -> None:
        before = parents.entry(item.path)
        file.tag.read_ns = time.time_ns()
        with src.open(item) as stream:
            pieces = guided_chunks(
                chunker=chunker,
                keys=store.keys,
                stream=stream,
                size=item.size,
                guide=before.chunks if before is not None else (),
            )
            for plain, chunk_id in pieces:
                pipeline.add(file, plain, chunk_id)

    pipeline = ChunkPipeline(
        keys=store.keys, stored=lambda chunk_id: store.lookup(chunk_id) is not None, commit=commit, end_file=end_file
    )
    try:
        for item in listed.files():
            file = pipeline.file(_Reading(item=item, unchanged=unchanged(item)))
            if file.tag.unchanged is None:
                read(item, file)
            pipeline.end(file)
        pipeline.finish()
    finally:
        pipeline.close()
    store.finish_writes(retain_until=retain_until)
    drain(everything=True)
    writer.end_entries()  # the last parts of the entries, and the pack holding them
    ticker.poll(force=True)
    vault.sync()
    token = f"{clock():%Y%m%dT%H%M%S}-{secrets.token_hex(8)}"
    store.write_index(name=token, retain_until=retain_until)
    totals.duration_ms = int((time.monotonic() - started) * 1000)
    blocks = writer.finish(skipped=list(listed.skipped), totals=totals, screening=screening.to_json())
    vault.put(manifest_v2_key(point_prefix), blocks, retain_until=retain_until, durable=True)
    # Read back from the vault: authenticated and counted (the entries are the ones just written).
    manifest = read_manifest_v2(vault=vault, point=point_prefix, keyring=keyring, entries=False)
    if manifest.totals != totals:
        raise ManifestInvalid(
            f"The manifest of {point_prefix} read back from {vault.uri} differs from the one written."
        )
    ticker.finish()
    return manifest


@dataclass(eq=False)
class _Reading:
    """A file while its chunks are in the pipeline (or its parent's entry, when it was not read)."""

    item: SourceFile
    unchanged: ChunkedFile | None
    refs: list[ChunkRef] = field(default_factory=list)
    size: int = 0
    read_ns: int = 0


def _resolved(store: ChunkStore, entry: ChunkedFile) -> ChunkedFile:
    refs = tuple(store.resolve(ref) for ref in entry.chunks)
    return ChunkedFile(
        path=entry.path, mode=entry.mode, size=entry.size, sha256=entry.sha256, chunks=refs, stamp=entry.stamp
    )
