"""Restore a recovery point into a directory, verify points and targets, clean up drill targets."""

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
from inventory.engine.errors import (
    Cancelled,
    CorruptObject,
    EngineError,
    HashMismatch,
    IntegrityError,
    ObjectMissing,
    UnsafePath,
)
from inventory.engine.manifest import FileEntry, Manifest, check_relative_path
from inventory.engine.vaults import LimitedReader, Vault

_READ_SIZE = 1024 * 1024
PART_PREFIX = ".drp-"
PART_SUFFIX = ".part"


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


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        hashes = f" (expected {self.expected}, found {self.actual})" if self.expected or self.actual else ""
        return f"{self.path}: {self.problem}{hashes}"


@dataclass
class VerifyReport:
    checked: int = 0
    bytes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"All {self.checked} files verified."
        head = "; ".join(str(p) for p in self.problems[:3])
        more = f" and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        return f"{len(self.problems)} of {self.checked} files failed verification: {head}{more}."


def part_name(path: str) -> str:
    """The staging name of a manifest path: hidden, fixed length, unique per path."""
    return f"{PART_PREFIX}{hashlib.sha256(path.encode('utf-8')).hexdigest()[:24]}{PART_SUFFIX}"


def _target_root(target_dir: Path) -> Path:
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UnsafePath(f"The restore target {target_dir} exists and is not a directory.") from None
    if target_dir.is_symlink():
        raise UnsafePath(f"The restore target {target_dir} is a symbolic link; give the real directory.")
    return target_dir.resolve(strict=True)


def _safe_parent(root: Path, path: str, *, create: bool, checked: set[str] | None = None) -> Path | None:
    """The directory that will hold ``path`` under ``root``, created one level at a time.

    Each existing level must be a real directory, never a symbolic link, so a link planted
    in the target cannot carry a restore outside it. Returns None when ``create`` is False
    and a level is missing. ``checked`` remembers folders already proven within one run.
    """
    parts = check_relative_path(path).split("/")
    folder = "/".join(parts[:-1])
    if checked is not None and folder in checked:
        return root / folder if folder else root
    current = root
    for part in parts[:-1]:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            if not create:
                return None
            os.mkdir(current, 0o755)
            continue
        if stat_mod.S_ISLNK(info.st_mode):
            raise UnsafePath(f"Refusing to restore {path}: {current.relative_to(root)} in the target is a link.")
        if not stat_mod.S_ISDIR(info.st_mode):
            raise UnsafePath(f"Refusing to restore {path}: {current.relative_to(root)} in the target is not a folder.")
    if checked is not None:
        checked.add(folder)
    return current


def _hash_file(path: str | Path, *, on_chunk: Callable[[int], None] | None = None) -> tuple[int, str] | None:
    """(size, sha256) of a regular file, not following links; None if there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError:
        return None  # a link (ELOOP) or unreadable: treat as absent, it will be replaced
    digest = hashlib.sha256()
    size = 0
    buf = bytearray(_READ_SIZE)
    view = memoryview(buf)
    with open(fd, "rb", buffering=0) as handle:
        if not stat_mod.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        while True:
            got = handle.readinto(buf)
            if not got:
                break
            digest.update(view[:got])
            size += got
            if on_chunk is not None:
                on_chunk(got)
    return size, digest.hexdigest()


def _open_entry(vault: Vault, entry: FileEntry) -> contextlib.AbstractContextManager[Readable]:
    return vault.open(entry.object_key, version_id=entry.version_id, offset=entry.offset, length=entry.stored_size)


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
            with _open_entry(self._vault, entry) as stream:
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


def _hash_object(vault: Vault, entry: FileEntry) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with _open_entry(vault, entry) as stream:
        while True:
            data = stream.read(_READ_SIZE)
            if not data:
                break
            digest.update(data)
            size += len(data)
    return size, digest.hexdigest()


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
            size, actual = _hash_object(vault, entry)
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
    root = _target_root(Path(target_dir))
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
                proven = _safe_parent(root, entry.path, create=True, checked=checked)
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
    found = _hash_file(path)
    return found is not None and found == (entry.size, entry.sha256)


def _ensure_no_part(part: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)


def verify_point(
    *,
    vault: Vault,
    manifest: Manifest,
    keyring: KeyRing | None = None,
    decrypt: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Check a point where it is stored, without restoring it.

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
            return report
    elif decrypt:
        raise ValueError("decrypt=True needs a keyring")
    total = manifest.total_stored_bytes + (manifest.total_bytes if decrypt else 0)
    ticker = Ticker(total=total, progress=progress, should_cancel=should_cancel, interval=check_interval, what="Verify")
    ticker.files_total = len(manifest.files)
    for entry in manifest.files:
        try:
            size, digest = _hash_object(vault, entry)
        except ObjectMissing:
            report.problems.append(Problem(path=entry.path, problem=f"object {entry.object_key} is missing"))
            continue
        ticker.add(size)
        report.checked += 1
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
                with _open_entry(vault, entry) as stream:
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


def verify_target(
    *,
    manifest: Manifest,
    target_dir: Path,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Re-hash a restored tree against the manifest: every file present, same size, same SHA-256."""
    report = VerifyReport()
    root = Path(target_dir)
    if not root.is_dir() or root.is_symlink():
        report.problems.append(Problem(path=str(target_dir), problem="the target folder does not exist"))
        return report
    root = root.resolve(strict=True)
    ticker = Ticker(
        total=manifest.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="Verify",
    )
    ticker.files_total = len(manifest.files)
    for entry in manifest.files:
        try:
            parent = _safe_parent(root, entry.path, create=False)
        except UnsafePath as exc:
            report.problems.append(Problem(path=entry.path, problem=str(exc)))
            continue
        found = None if parent is None else _hash_file(parent / entry.path.rsplit("/", 1)[-1], on_chunk=ticker.add)
        report.checked += 1
        if found is None:
            report.problems.append(Problem(path=entry.path, problem="missing from the target"))
            continue
        size, digest = found
        report.bytes_checked += size
        if (size, digest) != (entry.size, entry.sha256):
            report.problems.append(
                Problem(
                    path=entry.path,
                    problem=f"differs ({size} bytes, {entry.size} expected)",
                    expected=entry.sha256,
                    actual=digest,
                )
            )
        ticker.files_done += 1
    ticker.finish()
    return report


@dataclass
class CleanupResult:
    removed_files: int = 0
    removed_dirs: int = 0
    kept: list[str] = field(default_factory=list)


def cleanup_target(*, target_dir: Path, manifest: Manifest, remove_root: bool = True) -> CleanupResult:
    """Remove what a restore of ``manifest`` put under ``target_dir`` (for drill targets).

    Only files the manifest names (and their staging parts) are removed, then folders
    left empty, deepest first; the target itself goes too when empty and ``remove_root``.
    Nothing else is touched and no link is followed, so pointing this at the wrong folder
    removes at most copies of the point's own files. Files the restore did not create are
    reported in ``kept`` by way of the folders that could not be removed.
    """
    result = CleanupResult()
    root = Path(target_dir)
    if root.is_symlink():
        raise UnsafePath(f"Refusing to clean {target_dir}: it is a symbolic link.")
    if not root.exists():
        return result
    root = root.resolve(strict=True)
    if root == Path(root.anchor) or root == Path.home():
        raise UnsafePath(f"Refusing to clean {root}: it is not a restore target.")
    folders: set[Path] = set()
    for entry in manifest.files:
        ancestors = entry.path.split("/")[:-1]
        for depth in range(1, len(ancestors) + 1):
            folders.add(root.joinpath(*ancestors[:depth]))
        parent = _safe_parent(root, entry.path, create=False)
        if parent is None:
            continue
        for candidate in (parent / entry.path.rsplit("/", 1)[-1], parent / part_name(entry.path)):
            try:
                info = os.lstat(candidate)
            except FileNotFoundError:
                continue
            if stat_mod.S_ISDIR(info.st_mode):
                result.kept.append(str(candidate.relative_to(root)))
                continue
            os.unlink(candidate)
            result.removed_files += 1
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
            result.removed_dirs += 1
        except OSError:
            if os.path.lexists(folder):
                result.kept.append(str(folder.relative_to(root)) + "/")
    if remove_root:
        with contextlib.suppress(OSError):
            root.rmdir()
    return result


def iter_part_files(target_dir: Path) -> Iterator[Path]:
    """Staging parts under a target (left by an interrupted restore); for tests and reports."""
    for dirpath, _dirnames, filenames in os.walk(target_dir):
        for name in filenames:
            if name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX):
                yield Path(dirpath, name)
