"""Flushing many new files to stable storage without paying one disk round trip per file."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Iterable
from pathlib import Path

# Below this many files, fsync each one; above it, one syncfs(2) call costs less than
# thousands of separate journal commits (measured in bench/backup_bench.py).
SYNCFS_THRESHOLD = 64


def _load_syncfs() -> object | None:
    if not hasattr(os, "O_DIRECTORY"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return getattr(libc, "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()


def _load_sync_file_range() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = getattr(ctypes.CDLL(name, use_errno=True), "sync_file_range", None)
    except OSError:
        return None
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing a file's dirty pages now, without waiting.

    Otherwise a fresh gigabyte sits in the page cache until the final flush and is then
    written while we wait; started early, the disk works while we hash and encrypt the
    next files. Best effort: errors surface at the flush.
    """
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # type: ignore[operator]


def fsync_path(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0) | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_staged(*, count: int, files: Callable[[], list[Path]], anchor: Path) -> None:
    """Make ``count`` staged files durable; ``files()`` lists them, asked only when few.

    With many files one ``syncfs`` does it, so the names of a million staged files are
    never gathered into memory.
    """
    if count > SYNCFS_THRESHOLD and _SYNCFS is not None:
        _syncfs(anchor)
        return
    flush(files(), [], anchor=anchor)


def _syncfs(anchor: Path) -> None:
    fd = os.open(anchor, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _SYNCFS(fd) != 0:  # type: ignore[operator]
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def flush(files: list[Path], directories: Iterable[Path], *, anchor: Path) -> None:
    """Make ``files`` and the entries in ``directories`` durable.

    ``anchor`` is any path on the same file system; with many files one ``syncfs`` on it
    flushes them all (it also flushes other dirty data on that file system, which is
    harmless). Directories are fsynced deepest first so new names reach the disk too.
    """
    directories = set(directories)
    if len(files) + len(directories) > SYNCFS_THRESHOLD and _SYNCFS is not None:
        _syncfs(anchor)
        return
    for path in files:
        fsync_path(path)
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        fsync_path(directory, directory=True)
