"""Restore a recovery point into a directory: stage every file verified, then make them visible."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import stat as stat_mod
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inventory.engine._fsutil import flush, start_writeback
from inventory.engine.backup import CancelFn, ProgressFn, Ticker
from inventory.engine.crypto import TAG_BYTES, KeyRing, Readable, open_sealed
from inventory.engine.errors import Cancelled, CorruptObject, HashMismatch, IntegrityError, UnsafePath
from inventory.engine.manifest import FileEntry, Manifest
from inventory.engine.target import hash_file, part_name, safe_parent, target_root
from inventory.engine.vaults import LimitedReader, Vault
from inventory.engine.verify import hash_object, open_entry

__all__ = ["RestoreResult", "restore_tree"]


@dataclass
class RestoreResult:
    target_dir: Path
    files_total: int = 0
    files_restored: int = 0
    files_skipped: int = 0
    bytes_total: int = 0
    bytes_restored: int = 0
    verified: list[str] = field(default_factory=list)

    def as_evidence(self) -> dict[str, object]:
        """A JSON-ready summary for a run step's evidence."""
        return {
            "files_total": self.files_total,
            "files_restored": self.files_restored,
            "files_already_present": self.files_skipped,
            "bytes_total": self.bytes_total,
            "bytes_restored": self.bytes_restored,
            "all_hashes_verified": len(self.verified) == self.files_total,
        }


_SKIP_BY_READING = 8 * 1024 * 1024


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

    @staticmethod
    def order(manifest: Manifest) -> list[FileEntry]:
        return sorted(manifest.files, key=lambda entry: (entry.object_key, entry.offset))

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


_THREADED_WRITE_MIN = 256 * 1024
# Small files are left to the final flush: starting writeback costs a syscall and an I/O
# submission each, which for thousands of small files cost more than it saved.
_EARLY_WRITEBACK_MIN = 1024 * 1024


def _write_all(fd: int, data: bytes, offset: int) -> None:
    # pwrite with explicit offsets: chunks written here and on the writer thread can
    # never land out of order, whichever finishes first.
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view = view[done:]
        offset += done


class _Writer:
    """Writes chunks on a second thread while the caller decrypts and hashes the next one.

    Both ``os.write`` and SHA-256 of large buffers release the GIL, so on two cores the
    copy into the page cache overlaps with the hashing instead of following it. At most
    ``depth`` chunks wait in the queue, so memory stays a few chunks whatever the size.
    """

    def __init__(self, depth: int = 3) -> None:
        self._queue: queue.Queue[tuple[int, bytes, int] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="restore-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    _write_all(*item)
            except BaseException as exc:  # handed to the caller at the next drain
                self._error = exc
            finally:
                self._queue.task_done()

    def write(self, fd: int, data: bytes, offset: int) -> None:
        if self._error is not None:
            self.drain()
        self._queue.put((fd, data, offset))

    def drain(self, *, raise_errors: bool = True) -> None:
        self._queue.join()
        error, self._error = self._error, None
        if error is not None and raise_errors:
            raise error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _stage(
    *,
    vault: Vault,
    stream: Readable,
    entry: FileEntry,
    part: str,
    keyring: KeyRing,
    on_chunk: Callable[[int], None],
    buffer: bytearray,
    writer: _Writer | None = None,
) -> None:
    """Decrypt one object into ``part``, checking its hash; on any failure ``part`` is removed."""
    digest = hashlib.sha256()
    written = 0
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            for plain in open_sealed(stream, keyring=keyring, buffer=buffer):
                if writer is not None and len(plain) >= _THREADED_WRITE_MIN:
                    writer.write(fd, plain, written)
                else:
                    _write_all(fd, plain, written)
                digest.update(plain)
                written += len(plain)
                on_chunk(len(plain))
        except CorruptObject as exc:
            size, actual = hash_object(vault, entry)
            raise CorruptObject(
                f"{entry.path}: its stored object {entry.object_key} is damaged ({exc}). "
                f"Object SHA-256 recorded at backup {entry.stored_sha256}, found now {actual} ({size} bytes). "
                "The target was not changed.",
                path=entry.path,
                expected=entry.stored_sha256,
                actual=actual,
            ) from None
        if writer is not None:
            writer.drain()
        actual = digest.hexdigest()
        if actual != entry.sha256 or written != entry.size:
            raise HashMismatch(
                f"{entry.path}: restored content does not match the manifest: SHA-256 expected {entry.sha256}, "
                f"got {actual} ({written} of {entry.size} bytes). The target was not changed.",
                path=entry.path,
                expected=entry.sha256,
                actual=actual,
            )
        os.fchmod(fd, entry.mode)
        if entry.size >= _EARLY_WRITEBACK_MIN:
            start_writeback(fd)
    except BaseException:
        if writer is not None:
            writer.drain(raise_errors=False)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
    finally:
        if fd >= 0:
            os.close(fd)


def restore_tree(
    *,
    vault: Vault,
    manifest: Manifest,
    target_dir: Path,
    keyring: KeyRing,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    resume: bool = True,
    check_interval: float = 0.5,
) -> RestoreResult:
    """Restore every file of ``manifest`` under ``target_dir``; verified, then made visible.

    Two phases. Staging: each file is streamed from the vault, decrypted and hashed into
    a hidden ``.drp-<id>.part`` beside its final place; its SHA-256 and size must match the
    manifest. Commit: once every file is staged and flushed to disk, each part is renamed
    over its final name (atomic per file). So a damaged object or a hash mismatch leaves
    every file of the target as it was, and no unverified byte is ever visible.

    With ``resume`` (the default) files already in place with the right hash, and parts
    left by an interrupted run that still hash right, are kept rather than fetched again:
    a worker killed mid-way is resumed by calling this again. On cancellation and on an
    integrity failure the parts are removed, leaving the target as it was; on other
    errors (a vault that cannot be reached, a full disk) verified parts are kept for the
    next attempt.

    The manifest's MAC is checked first: a manifest edited outside the engine is refused.
    """
    manifest.check_mac(keyring)
    keyring.key(manifest.key_id)
    root = target_root(Path(target_dir))
    result = RestoreResult(target_dir=root, files_total=len(manifest.files), bytes_total=manifest.total_bytes)
    ticker = Ticker(
        total=manifest.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="The restore",
    )
    ticker.files_total = len(manifest.files)
    # Plain strings rather than Path objects in this loop: with ten thousand small files
    # the path arithmetic alone showed up in profiles.
    staged: list[tuple[FileEntry, str, str]] = []
    buffer = bytearray(manifest.chunk_size + TAG_BYTES)
    writer = _Writer()
    cursor = _Cursor(vault, manifest)
    checked: set[str] = set()
    parents: dict[str, str] = {}
    ticker.poll(force=True)
    try:
        for entry in _Cursor.order(manifest):
            folder, _, name = entry.path.rpartition("/")
            parent = parents.get(folder)
            if parent is None:
                proven = safe_parent(root, entry.path, create=True, checked=checked)
                assert proven is not None
                parent = parents[folder] = str(proven)
            final = os.path.join(parent, name)
            part = os.path.join(parent, part_name(entry.path))
            final_info = _lstat(final)
            if final_info is not None and stat_mod.S_ISDIR(final_info.st_mode):
                raise UnsafePath(f"Cannot restore {entry.path}: a folder of that name is in the way in the target.")
            if resume and final_info is not None and _matches(final, entry, final_info):
                result.files_skipped += 1
                result.verified.append(entry.path)
                _ensure_no_part(part)
                ticker.files_done += 1
                ticker.add(entry.size)
                continue
            if not (resume and _matches(part, entry)):
                with cursor.member(entry) as stream:
                    _stage(
                        vault=vault,
                        stream=stream,
                        entry=entry,
                        part=part,
                        keyring=keyring,
                        on_chunk=ticker.add,
                        buffer=buffer,
                        writer=writer,
                    )
                result.bytes_restored += entry.size
            else:
                ticker.add(entry.size)
            staged.append((entry, part, final))
            ticker.files_done += 1
        ticker.poll(force=True)
        directories = {Path(os.path.dirname(part)) for _entry, part, _final in staged}
        flush([Path(part) for _entry, part, _final in staged], [], anchor=root)
    except (Cancelled, IntegrityError, UnsafePath):
        for _entry, part, _final in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
        raise
    finally:
        writer.close()
        cursor.close()
    for entry, part, final in staged:
        os.replace(part, final)
        result.files_restored += 1
        result.verified.append(entry.path)
    flush([], directories, anchor=root)
    ticker.finish()
    return result


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _matches(path: str, entry: FileEntry, info: os.stat_result | None = None) -> bool:
    info = info or _lstat(path)
    if info is None or not stat_mod.S_ISREG(info.st_mode) or info.st_size != entry.size:
        return False
    found = hash_file(path)
    return found is not None and found == (entry.size, entry.sha256)


def _ensure_no_part(part: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)
