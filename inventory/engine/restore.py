"""Restore a recovery point into a directory: stage every file verified, then make them visible.

One restore for both formats. A *reader* (format 1: :class:`~inventory.engine.format1.read.Format1Reader`;
the chunk store: :class:`~inventory.engine.chunks.read.ChunkReader`) says which files a
point holds and hands over each file's plaintext, authenticated; everything about the
target (staging, hashes, resume, space, the commit) is done here once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat as stat_mod
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from inventory.engine._fsutil import flush, flush_staged, start_writeback
from inventory.engine._restore_io import PART_FLAGS, THREADED_WRITE_MIN, PartMaker, Writer, write_all
from inventory.engine.chunks.manifest import ChunkedManifest
from inventory.engine.chunks.read import ChunkReader
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import Cancelled, EngineError, HashMismatch, IntegrityError, TargetFull, UnsafePath
from inventory.engine.fmt import human_size
from inventory.engine.format1.read import Format1Reader
from inventory.engine.manifest import Manifest
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.target import free_bytes, hash_file, part_name, safe_parent, target_root
from inventory.engine.vaults import Vault

__all__ = ["RestoreResult", "restore_tree", "space_needed"]


class Entry(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def mode(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class PointReader(Protocol):
    total_files: int
    total_bytes: int

    def entries(self) -> Iterable[Any]: ...
    def plain(self, entry: Any) -> Generator[bytes, None, None]: ...
    def close(self) -> None: ...


@dataclass
class RestoreResult:
    target_dir: Path
    files_total: int = 0
    files_restored: int = 0
    files_skipped: int = 0
    bytes_total: int = 0
    bytes_restored: int = 0
    verified: int = 0

    def as_evidence(self) -> dict[str, object]:
        """A JSON-ready summary for a run step's evidence."""
        return {
            "files_total": self.files_total,
            "files_restored": self.files_restored,
            "files_already_present": self.files_skipped,
            "bytes_total": self.bytes_total,
            "bytes_restored": self.bytes_restored,
            "all_hashes_verified": self.verified == self.files_total,
        }


def reader_for(*, vault: Vault, manifest: Manifest | ChunkedManifest, keyring: KeyRing) -> PointReader:
    if isinstance(manifest, ChunkedManifest):
        return ChunkReader(vault=vault, manifest=manifest, keyring=keyring)
    return Format1Reader(vault=vault, manifest=manifest, keyring=keyring)


# Small files are left to the final flush: starting writeback costs a syscall and an I/O
# submission each, which for thousands of small files cost more than it saved.
_EARLY_WRITEBACK_MIN = 1024 * 1024


def _stage(reader: PointReader, entry: Entry, part: str, ticker: Ticker, writer: Writer) -> None:
    """Write one file's plaintext into ``part``, checking its hash; on any failure ``part`` is removed."""
    digest = hashlib.sha256()
    written = 0
    fd = os.open(part, PART_FLAGS, 0o600)
    try:
        with contextlib.closing(reader.plain(entry)) as chunks:
            for plain in chunks:
                if len(plain) >= THREADED_WRITE_MIN:
                    writer.write(fd, plain, written)
                else:
                    write_all(fd, plain, written)
                digest.update(plain)
                written += len(plain)
                ticker.add(len(plain))
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
        writer.drain(raise_errors=False)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
    finally:
        if fd >= 0:
            os.close(fd)


class _Places:
    """Final and staging names of each file, with each parent folder proven once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parents: dict[str, str | None] = {}
        self._checked: set[str] = set()

    def of(self, path: str, *, create: bool) -> tuple[str, str] | None:
        folder, _, name = path.rpartition("/")
        parent = self._parents.get(folder)
        if parent is None:
            proven = safe_parent(self.root, path, create=create, checked=self._checked)
            if proven is None:
                return None
            parent = self._parents[folder] = str(proven)
        return os.path.join(parent, name), os.path.join(parent, part_name(path))


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _matches(path: str, entry: Entry, info: os.stat_result | None = None) -> bool:
    info = info or _lstat(path)
    if info is None or not stat_mod.S_ISREG(info.st_mode) or info.st_size != entry.size:
        return False
    return hash_file(path) == (entry.size, entry.sha256)


def space_needed(*, reader: PointReader, root: Path) -> int:
    """Bytes the staging of this restore may need: every file not already in place at its size.

    Cheap (one ``lstat`` per file, no hashing), so it can run before a byte moves. A
    file already there at the right size may still differ and need staging, so this
    is what a resumed restore needs at least; a fresh target needs the point's size.
    """
    places = _Places(root)
    need = 0
    for entry in reader.entries():
        found = places.of(entry.path, create=False)
        if found is None:
            need += entry.size
            continue
        final, part = found
        for candidate in (final, part):
            info = _lstat(candidate)
            if info is not None and stat_mod.S_ISREG(info.st_mode) and info.st_size == entry.size:
                break
        else:
            need += entry.size
    return need


def _refuse_if_full(*, reader: PointReader, root: Path) -> int:
    """What staging needs; :class:`TargetFull` before a byte moves when the target has less free."""
    need = space_needed(reader=reader, root=root)
    free = free_bytes(root)
    if free is not None and need > free:
        raise TargetFull(
            f"The restore target {root} has {human_size(free)} free but this restore needs {human_size(need)} "
            f"({need} bytes needed, {free} free); nothing was written.",
            needed=need,
            free=free,
        )
    return need


def restore_tree(
    *,
    vault: Vault,
    manifest: Manifest | ChunkedManifest,
    target_dir: Path,
    keyring: KeyRing,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    resume: bool = True,
    check_interval: float = 0.5,
) -> RestoreResult:
    """Restore every file of a point (either format) under ``target_dir``; verified, then made visible.

    Two phases. Staging: each file is streamed from the vault, authenticated and hashed
    into a hidden ``.drp-<id>.part`` beside its final place; its SHA-256 and size must
    match the manifest. Commit: once every file is staged and flushed to disk, each part
    is renamed over its final name (atomic per file). So a damaged object or a hash
    mismatch leaves every file of the target as it was, and no unverified byte is ever
    visible.

    Before a byte moves the target's free space is compared with what staging needs
    (:class:`TargetFull` if short). A full disk met anyway is final too: every part is
    removed, so nothing half-written stays, and the error says bytes needed and free.

    With ``resume`` (the default) files already in place with the right hash, and parts
    left by an interrupted run that still hash right, are kept rather than fetched again:
    a worker killed mid-way is resumed by calling this again. On cancellation and on an
    integrity failure the parts are removed; on other errors (a vault that cannot be
    reached) verified parts are kept for the next attempt.

    The manifest is authenticated first; a format-2 manifest is streamed (twice), so
    memory does not grow with the number of files.
    """
    reader = reader_for(vault=vault, manifest=manifest, keyring=keyring)
    root = target_root(Path(target_dir))
    result = RestoreResult(target_dir=root, files_total=reader.total_files, bytes_total=reader.total_bytes)
    ticker = Ticker(
        total=reader.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="The restore",
    )
    ticker.files_total = reader.total_files
    places = _Places(root)
    need = _refuse_if_full(reader=reader, root=root)
    ticker.poll(force=True)
    writer = Writer()
    maker = PartMaker(places)
    staged = 0
    try:
        for entry in _staging_entries(reader, places, maker, resume=resume):
            made = maker.take(entry.path)  # its part was created ahead: nothing of it was in the target
            found = made or places.of(entry.path, create=True)
            assert found is not None
            final, part = found
            final_info = _lstat(final)
            if final_info is not None and stat_mod.S_ISDIR(final_info.st_mode):
                raise UnsafePath(f"Cannot restore {entry.path}: a folder of that name is in the way in the target.")
            if not made and resume and final_info is not None and _matches(final, entry, final_info):
                result.files_skipped += 1
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part)
                ticker.add(entry.size)
            elif not made and resume and _matches(part, entry):
                staged += 1
                ticker.add(entry.size)
            else:
                _stage(reader, entry, part, ticker, writer)
                staged += 1
                result.bytes_restored += entry.size
            ticker.files_done += 1
        maker.close()
        ticker.poll(force=True)
        flush_staged(count=staged, files=lambda: _parts(reader, places), anchor=root)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise  # verified parts stay for the next attempt
        _remove_parts(reader, places, maker)
        free = free_bytes(root) or 0
        raise TargetFull(
            f"The restore target {root} ran out of space: this restore needs {human_size(need)} ({need} bytes) "
            f"and {human_size(free)} ({free} bytes) is free now that its staged files were removed. "
            "The target keeps its previous content; a full disk is not retried.",
            needed=need,
            free=free,
        ) from None
    except (Cancelled, IntegrityError, UnsafePath):
        _remove_parts(reader, places, maker)
        raise
    finally:
        maker.close()
        writer.close()
        reader.close()
    folders: set[Path] = set()
    for entry in reader.entries():
        found = places.of(entry.path, create=False)
        assert found is not None
        final, part = found
        if os.path.exists(part):
            os.replace(part, final)
            result.files_restored += 1
            folders.add(Path(final).parent)
        result.verified += 1
    flush([], folders, anchor=root)
    ticker.finish()
    return result


def _staging_entries(reader: PointReader, places: _Places, maker: PartMaker, *, resume: bool) -> Iterable[Any]:
    """The entries to stage; for those not yet in the target, a reader that can reads their chunks
    ahead, and their parts are created ahead on ``maker``'s thread."""
    staging = getattr(reader, "staging", None)
    if staging is None:
        return reader.entries()

    def wanted(entry: Entry) -> bool:
        found = places.of(entry.path, create=False) if resume else None
        if found is None or not any(_lstat(name) for name in found):
            maker.ahead(entry.path)
            return True
        return False

    result: Iterable[Any] = staging(wanted)
    return result


def _parts(reader: PointReader, places: _Places) -> list[Path]:
    found = []
    for entry in reader.entries():
        where = places.of(entry.path, create=False)
        if where is not None and os.path.exists(where[1]):
            found.append(Path(where[1]))
    return found


def _remove_parts(reader: PointReader, places: _Places, maker: PartMaker) -> None:
    maker.close()  # no part is created behind the removal
    with contextlib.suppress(EngineError):
        for entry in reader.entries():
            where = places.of(entry.path, create=False)
            if where is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(where[1])
