"""Format-1 reader: the manifest, the sealed objects of each file, and checking them in place."""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Generator, Iterable, Iterator

from inventory.engine.crypto import KeyRing, Readable
from inventory.engine.errors import (
    CorruptObject,
    DataMissing,
    EngineError,
    IntegrityError,
    ManifestInvalid,
    ObjectMissing,
)
from inventory.engine.format1.sealed import TAG_BYTES, open_sealed
from inventory.engine.manifest import FileEntry, Manifest, manifest_key
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.report import Problem, VerifyReport
from inventory.engine.target import READ_SIZE
from inventory.engine.vaults import LimitedReader, Vault

_SKIP_BY_READING = 8 * 1024 * 1024


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


def point_is_complete(*, vault: Vault, point_prefix: str, keyring: KeyRing) -> bool:
    """A point is complete exactly when its manifest exists, parses and carries a valid MAC.

    Objects without such a manifest are what an aborted backup leaves behind.
    """
    try:
        read_manifest(vault=vault, point_prefix=point_prefix, keyring=keyring)
    except (ObjectMissing, IntegrityError):
        return False
    return True


def open_entry(vault: Vault, entry: FileEntry) -> contextlib.AbstractContextManager[Readable]:
    return vault.open(entry.object_key, version_id=entry.version_id, offset=entry.offset, length=entry.stored_size)


def hash_object(vault: Vault, entry: FileEntry) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open_entry(vault, entry) as stream:
        while data := stream.read(READ_SIZE):
            digest.update(data)
            size += len(data)
    return size, digest.hexdigest()


class _Cursor:
    """Reads the files of a point in object order, keeping a pack open across its members.

    Reopening a pack for each of its small files would cost an open (on disk) or a
    request (on S3) per file; read in offset order, one stream serves them all. A member
    that was not read to its end (a failure, a cancel) closes the stream, so the next
    member reopens at its own offset and can never start mid-way through another.
    """

    def __init__(self, vault: Vault, manifest: Manifest) -> None:
        self._vault = vault
        counts = Counter(entry.object_key for entry in manifest.files)
        self._shared = {key for key, count in counts.items() if count > 1}
        self._key: str | None = None
        self._context: contextlib.AbstractContextManager[Readable] | None = None
        self._stream: Readable | None = None
        self._position = 0

    @contextlib.contextmanager
    def member(self, entry: FileEntry) -> Iterator[Readable]:
        if entry.object_key not in self._shared:
            with open_entry(self._vault, entry) as stream:
                yield stream
            return
        gap = entry.offset - self._position
        if self._key != entry.object_key or self._stream is None or gap < 0 or gap > _SKIP_BY_READING:
            self.close()
            self._context = self._vault.open(entry.object_key, version_id=entry.version_id, offset=entry.offset)
            self._stream = self._context.__enter__()
            self._key = entry.object_key
            self._position = entry.offset
        stream = self._stream
        while self._position < entry.offset:  # members skipped on resume
            skipped = len(stream.read(min(entry.offset - self._position, 1024 * 1024)))
            if not skipped:
                break
            self._position += skipped
        reader = LimitedReader(stream, entry.stored_size)
        complete = False
        try:
            yield reader
            complete = reader.left == 0
        finally:
            self._position += entry.stored_size - reader.left
            if not complete:
                self.close()

    def close(self) -> None:
        context, self._context, self._stream, self._key = self._context, None, None, None
        if context is not None:
            context.__exit__(None, None, None)


class Format1Reader:
    """What :func:`inventory.engine.restore.restore_tree` needs of a format-1 point.

    Files come in object order (a pack's members one after another); each file's
    plaintext is authenticated chunk by chunk, and damage names the file with the
    object hash recorded at backup and the one found now.
    """

    def __init__(self, *, vault: Vault, manifest: Manifest, keyring: KeyRing) -> None:
        manifest.check_mac(keyring)
        keyring.key(manifest.key_id)
        self.vault = vault
        self.manifest = manifest
        self.keyring = keyring
        self.total_files = manifest.total_files
        self.total_bytes = manifest.total_bytes
        self._cursor = _Cursor(vault, manifest)
        self._buffer = bytearray(manifest.chunk_size + TAG_BYTES)
        self._order = sorted(manifest.files, key=lambda entry: (entry.object_key, entry.offset))

    def entries(self) -> Iterable[FileEntry]:
        return self._order

    def plain(self, entry: FileEntry) -> Generator[bytes, None, None]:
        try:
            with self._cursor.member(entry) as stream:
                yield from open_sealed(stream, keyring=self.keyring, buffer=self._buffer)
        except CorruptObject as exc:
            size, actual = hash_object(self.vault, entry)
            raise CorruptObject(
                f"{entry.path}: its stored object {entry.object_key} is damaged ({exc}). "
                f"Object SHA-256 recorded at backup {entry.stored_sha256}, found now {actual} ({size} bytes). "
                "The target was not changed.",
                path=entry.path,
                expected=entry.stored_sha256,
                actual=actual,
            ) from None
        except ObjectMissing:
            raise DataMissing(
                f"{entry.path}: its stored object {entry.object_key} is missing from {self.vault.uri}. "
                "The target was not changed.",
                path=entry.path,
                expected=entry.stored_sha256,
            ) from None

    def close(self) -> None:
        self._cursor.close()


def verify_format1(
    *,
    vault: Vault,
    manifest: Manifest,
    keyring: KeyRing | None = None,
    decrypt: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Check a format-1 point where it is stored, without restoring it.

    Always: each object exists and its size and SHA-256 equal those recorded at backup
    (needs no key). With ``keyring``: the manifest's MAC too. With ``decrypt=True`` as
    well: every chunk is authenticated and the plaintext SHA-256 compared, which proves
    the point restorable with the keys at hand.
    """
    report = VerifyReport()
    if keyring is not None:
        try:
            manifest.check_mac(keyring)
        except EngineError as exc:
            report.problems.append(Problem(path=manifest.manifest_key, problem=str(exc)))
            report.point_problem = str(exc)
            return report
    elif decrypt:
        raise ValueError("decrypt=True needs a keyring")
    total = manifest.total_stored_bytes + (manifest.total_bytes if decrypt else 0)
    ticker = Ticker(total=total, progress=progress, should_cancel=should_cancel, interval=check_interval, what="Verify")
    ticker.files_total = len(manifest.files)
    for entry in manifest.files:
        report.checked += 1
        try:
            size, digest = hash_object(vault, entry)
        except ObjectMissing:
            report.problems.append(Problem(path=entry.path, problem=f"object {entry.object_key} is missing"))
            continue
        ticker.add(size)
        report.bytes_checked += size
        if (size, digest) != (entry.stored_size, entry.stored_sha256):
            report.problems.append(
                Problem(
                    path=entry.path,
                    problem=f"stored object {entry.object_key} changed ({size} bytes, {entry.stored_size} recorded)",
                    expected=entry.stored_sha256,
                    actual=digest,
                )
            )
            continue
        if decrypt and keyring is not None:
            plain = hashlib.sha256()
            try:
                with open_entry(vault, entry) as stream:
                    for chunk in open_sealed(stream, keyring=keyring):
                        plain.update(chunk)
                        ticker.add(len(chunk))
            except (CorruptObject, EngineError) as exc:
                report.problems.append(Problem(path=entry.path, problem=f"cannot be decrypted: {exc}"))
                continue
            if plain.hexdigest() != entry.sha256:
                report.problems.append(
                    Problem(
                        path=entry.path, problem="content hash differs", expected=entry.sha256, actual=plain.hexdigest()
                    )
                )
        ticker.files_done += 1
    ticker.finish()
    return report
