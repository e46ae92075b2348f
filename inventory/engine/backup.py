"""Take a recovery point: stream a source tree, sealed and hashed, into a vault; manifest last."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory.engine.crypto import DEFAULT_CHUNK_SIZE, KeyRing, Sealer, sealed_size
from inventory.engine.errors import (
    Cancelled,
    IntegrityError,
    ManifestInvalid,
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    VaultFull,
)
from inventory.engine.manifest import FileEntry, Manifest, manifest_key, object_key
from inventory.engine.sources import Source, source_from_uri
from inventory.engine.vaults import S3Config, Vault, _human, check_key

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ticker:
    """Reports progress and polls for cancellation at most every ``interval`` seconds.

    Both callbacks may be costly (a database write, a query), so they are rate limited;
    the last progress report is always delivered by :meth:`finish`.
    """

    def __init__(
        self,
        *,
        total: int,
        progress: ProgressFn | None,
        should_cancel: CancelFn | None,
        interval: float,
        what: str,
    ) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._should_cancel = should_cancel
        self._interval = interval
        self._last = float("-inf")
        self._what = what
        self.files_done = 0
        self.files_total = 0

    def add(self, amount: int) -> None:
        self.done += amount
        self.poll()

    def poll(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        if self._progress is not None:
            self._progress(self.done, self.total)
        if self._should_cancel is not None and self._should_cancel():
            raise Cancelled(
                f"{self._what} was cancelled after {self.files_done} of {self.files_total} files "
                f"({_human(self.done)} of {_human(self.total)})."
            )

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total)


def point_is_complete(*, vault: Vault, point_prefix: str, keyring: KeyRing) -> bool:
    """A point is complete exactly when its manifest exists, parses and carries a valid MAC.

    Objects without such a manifest are what an aborted backup leaves behind.
    """
    try:
        read_manifest(vault=vault, point_prefix=point_prefix, keyring=keyring)
    except (ObjectMissing, IntegrityError):
        return False
    return True


def read_manifest(*, vault: Vault, point_prefix: str, keyring: KeyRing | None = None) -> Manifest:
    """Load a point's manifest; with a key ring, also check its MAC."""
    with vault.open(manifest_key(point_prefix)) as stream:
        raw = stream.read()
    manifest = Manifest.from_bytes(raw)
    if manifest.point != point_prefix:
        raise ManifestInvalid(f"The manifest stored at {point_prefix!r} describes point {manifest.point!r}.")
    if keyring is not None:
        manifest.check_mac(keyring)
    return manifest


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
) -> Manifest:
    """Back up ``source`` into ``vault`` as the point ``point_prefix`` and return its manifest.

    Each file is read once: hashed (SHA-256 of the plaintext) and sealed (AES-256-GCM
    in ``chunk_size`` chunks) as it streams into the object ``<point>/objects/NNNNNNNN``.
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
    keyring.key(key_id)  # a missing key fails before anything is touched
    check_key(point_prefix)
    src = source if not isinstance(source, (str, Path)) else source_from_uri(source, s3=s3)
    vault.check_writable()
    mkey = manifest_key(point_prefix)
    if vault.stat(mkey) is not None:
        raise ObjectExists(f"Recovery point {point_prefix} already exists in {vault.uri}; points are never rewritten.")
    if retain_until is not None and retain_until <= clock():
        raise ObjectLocked("The retain-until time of a new point must be in the future.")

    as_of = data_as_of or clock()
    scan = src.scan()
    need = sum(sealed_size(item.size, key_id=key_id, chunk_size=chunk_size) for item in scan.files)
    free = vault.free_bytes()
    if free is not None and need > free:
        raise VaultFull(
            f"The vault at {vault.uri} has {_human(free)} free but this backup needs {_human(need)}; "
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
    for index, item in enumerate(scan.files):
        key = object_key(point_prefix, index)
        with src.open(item) as stream:
            sealer = Sealer(stream, keyring=keyring, key_id=key_id, chunk_size=chunk_size, on_chunk=ticker.add)
            info = vault.put(key, sealer, retain_until=retain_until, durable=False)
        result = sealer.result
        if info.size != result.stored_size:
            raise VaultFull(f"The vault stored {info.size} of {result.stored_size} bytes of {item.path}.")
        entries.append(
            FileEntry(
                path=item.path,
                size=result.plain_size,
                sha256=result.sha256,
                object_key=key,
                stored_size=result.stored_size,
                stored_sha256=result.stored_sha256,
                mode=item.mode,
                version_id=info.version_id,
            )
        )
        ticker.files_done += 1
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


def delete_point(*, vault: Vault, point_prefix: str) -> int:
    """Delete a point's manifest and objects once their retention has passed; returns the count.

    Every object is checked first, so a point still (even partly) under retention is
    refused whole with :class:`ObjectLocked` rather than half-deleted. The manifest goes
    first, so a point that is being deleted never looks complete with objects missing.
    """
    check_key(point_prefix)
    moment = vault.now()
    keys = list(vault.list(point_prefix))
    for key in keys:
        info = vault.stat(key)
        if info is not None and info.locked(moment):
            raise ObjectLocked(
                f"Recovery point {point_prefix} is retained until {info.retain_until:%Y-%m-%d %H:%M} UTC; "
                "it cannot be deleted yet."
            )
    mkey = manifest_key(point_prefix)
    ordered = ([mkey] if mkey in keys else []) + [key for key in keys if key != mkey]
    for key in ordered:
        vault.delete(key)
    return len(ordered)
