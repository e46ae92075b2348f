"""Format-1 writer: each file sealed whole into ``<point>/objects/NNNNNNNN``, signed manifest last.

The portal writes chunk-store points (:mod:`inventory.engine.chunks`). This writer is
kept for ``BACKUP_FORMAT=files`` and for tests that need points as the first engine
wrote them, so that the reader of old points stays proven; it shares the reader, the
restore and the checks of a new point with the chunk store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory.engine.crypto import KeyRing, Readable
from inventory.engine.errors import ManifestInvalid, VaultFull
from inventory.engine.fmt import human_size
from inventory.engine.format1.read import read_manifest
from inventory.engine.format1.sealed import DEFAULT_CHUNK_SIZE, BackgroundHasher, Sealer, SealResult, sealed_size
from inventory.engine.manifest import FileEntry, Manifest, manifest_key, object_key
from inventory.engine.points import begin_point
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.sources import Source, SourceFile
from inventory.engine.vaults import S3Config, Vault

PACK_BELOW = 1024 * 1024
PACK_SIZE = 32 * 1024 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Member:
    """A file sealed into an object, waiting for the object's version id."""

    item: SourceFile
    result: SealResult
    offset: int

    def entry(self, key: str, version_id: str | None) -> FileEntry:
        return FileEntry(
            path=self.item.path,
            size=self.result.plain_size,
            sha256=self.result.sha256,
            object_key=key,
            stored_size=self.result.stored_size,
            stored_sha256=self.result.stored_sha256,
            mode=self.item.mode,
            version_id=version_id,
            offset=self.offset,
        )


def backup_tree(
    *,
    source: str | Path | Source,
    vault: Vault,
    point_prefix: str,
    keyring: KeyRing,
    key_id: str,
    retain_until: datetime | None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    s3: S3Config | None = None,
    data_as_of: datetime | None = None,
    extra: dict[str, Any] | None = None,
    check_interval: float = 0.5,
    clock: Callable[[], datetime] = _utcnow,
    pack_below: int = PACK_BELOW,
    pack_size: int = PACK_SIZE,
) -> Manifest:
    """Back up ``source`` into ``vault`` as the point ``point_prefix`` and return its manifest.

    Each file is read once: hashed (SHA-256 of the plaintext) and sealed (AES-256-GCM
    in ``chunk_size`` chunks) as it streams into an object ``<point>/objects/NNNNNNNN``:
    one object per file of ``pack_below`` bytes or more, and packs of about
    ``pack_size`` bytes holding the sealed smaller files one after another.
    When every object is durable the signed manifest is written to
    ``<point>/manifest.json``, read back and compared; only then does this return. Any
    failure raises an :class:`~inventory.engine.errors.EngineError` and leaves no
    manifest, so the point never looks complete (objects already written stay under
    their retention and are listed by ``vault.list(point_prefix)``).

    ``source`` is a path, ``s3://bucket/prefix`` (reached with ``s3``) or a
    :class:`Source`. ``data_as_of`` defaults to the moment the scan starts: every byte
    stored is at least that recent. ``progress(bytes_done, bytes_total)`` and
    ``should_cancel()`` are called at most every ``check_interval`` seconds.
    """
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
    mkey = manifest_key(point_prefix)

    as_of = data_as_of or clock()
    scan = src.scan()
    need = sum(sealed_size(item.size, key_id=key_id, chunk_size=chunk_size) for item in scan.files)
    free = vault.free_bytes()
    if free is not None and need > free:
        raise VaultFull(
            f"The vault at {vault.uri} has {human_size(free)} free but this backup needs {human_size(need)}; "
            "nothing was written."
        )

    ticker = Ticker(
        total=scan.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="The backup",
    )
    ticker.files_total = len(scan.files)
    ticker.poll(force=True)
    entries: list[FileEntry] = []
    buffer = bytearray(chunk_size)
    small = deque(item for item in scan.files if item.size < pack_below)
    large = deque(item for item in scan.files if item.size >= pack_below)
    index = 0
    background = BackgroundHasher()

    def seal_into(stream: Readable, item: SourceFile, members: list[_Member], offset: int) -> Iterator[bytes]:
        sealer = Sealer(
            stream,
            keyring=keyring,
            key_id=key_id,
            chunk_size=chunk_size,
            on_chunk=ticker.add,
            buffer=buffer,
            background=background,
        )
        yield from sealer
        members.append(_Member(item, sealer.result, offset))
        ticker.files_done += 1

    def pack(members: list[_Member]) -> Iterator[bytes]:
        # Small files are sealed one after another into one object: thousands of tiny
        # vault files would cost a file creation (and a flush) each.
        offset = 0
        while small and offset < pack_size:
            item = small.popleft()
            with src.open(item) as stream:
                yield from seal_into(stream, item, members, offset)
            offset += members[-1].result.stored_size

    def single(item: SourceFile, members: list[_Member]) -> Iterator[bytes]:
        with src.open(item) as stream:
            yield from seal_into(stream, item, members, 0)

    try:
        while small or large:
            key = object_key(point_prefix, index)
            index += 1
            members: list[_Member] = []
            stream_of = pack(members) if small else single(large.popleft(), members)
            info = vault.put(key, stream_of, retain_until=retain_until, durable=False)
            written = sum(member.result.stored_size for member in members)
            if info.size != written:
                raise VaultFull(f"The vault stored {info.size} of {written} bytes of object {key}.")
            entries.extend(member.entry(key, info.version_id) for member in members)
    finally:
        background.close()
    entries.sort(key=lambda entry: entry.path)
    ticker.poll(force=True)
    vault.sync()

    manifest = Manifest(
        point=point_prefix,
        source=src.uri,
        key_id=key_id,
        chunk_size=chunk_size,
        created_at=clock(),
        data_as_of=as_of,
        retain_until=retain_until,
        files=tuple(entries),
        skipped=tuple(scan.skipped),
        extra=dict(extra or {}),
    ).signed(keyring)
    vault.put(mkey, [manifest.to_bytes()], retain_until=retain_until, durable=True)
    stored = read_manifest(vault=vault, point_prefix=point_prefix, keyring=keyring)
    if stored != manifest:
        raise ManifestInvalid(
            f"The manifest of {point_prefix} read back from {vault.uri} differs from the one written."
        )
    ticker.finish()
    return manifest
