"""The restore target's side: staging names, safe parent folders, hashing files in place."""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inventory.engine.chunks.manifest import ChunkedManifest
    from inventory.engine.crypto import KeyRing
    from inventory.engine.manifest import Manifest

from inventory.engine.errors import UnsafePath
from inventory.engine.manifest import check_relative_path

READ_SIZE = 1024 * 1024
PART_PREFIX = ".drp-"
PART_SUFFIX = ".part"


def part_name(path: str) -> str:
    """The staging name of a manifest path: hidden, fixed length, unique per path."""
    return f"{PART_PREFIX}{hashlib.sha256(path.encode('utf-8')).hexdigest()[:24]}{PART_SUFFIX}"


def target_root(target_dir: Path) -> Path:
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UnsafePath(f"The restore target {target_dir} exists and is not a directory.") from None
    if target_dir.is_symlink():
        raise UnsafePath(f"The restore target {target_dir} is a symbolic link; give the real directory.")
    return target_dir.resolve(strict=True)


def safe_parent(root: Path, path: str, *, create: bool, checked: set[str] | None = None) -> Path | None:
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


def hash_file(path: str | Path, *, on_chunk: Callable[[int], None] | None = None) -> tuple[int, str] | None:
    """(size, sha256) of a regular file, not following links; None if there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError:
        return None  # a link (ELOOP) or unreadable: treat as absent, it will be replaced
    digest = hashlib.sha256()
    size = 0
    buf = bytearray(READ_SIZE)
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


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding ``path`` (None: unknown)."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


def iter_part_files(target_dir: Path) -> Iterator[Path]:
    """Staging parts under a target (left by an interrupted restore); for tests and reports."""
    for dirpath, _dirnames, filenames in os.walk(target_dir):
        for name in filenames:
            if name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX):
                yield Path(dirpath, name)


def manifest_entries(manifest: Manifest | ChunkedManifest, keyring: KeyRing | None) -> Iterator[Any]:
    """The file entries of either manifest format (each has ``path``, ``size``, ``sha256``).

    A format-2 manifest is streamed from its vault and needs the key ring to be authenticated.
    """
    files = manifest.files
    if isinstance(files, tuple):
        yield from files
        return
    if keyring is None:
        raise ValueError("reading a format-2 manifest needs the key ring")
    yield from files(keyring)
