"""The filesystem vault: a directory of write-once objects with retention records."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import stat as stat_mod
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from inventory.engine._fsutil import flush, start_writeback
from inventory.engine.crypto import Readable
from inventory.engine.errors import (
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    VaultError,
    VaultFull,
    VaultReadOnly,
    VaultUnavailable,
)
from inventory.engine.fmt import format_utc, parse_utc
from inventory.engine.vaults.protocol import LimitedReader, ObjectInfo, check_key, utcnow


class FilesystemVault:
    """A directory of write-once objects.

    Layout: object ``a/b/c`` is the file ``root/a/b/c`` (mode 0444) and its retention
    record is ``root/a/b/.c.retention`` (JSON ``{"retain_until": ISO or null}``, mode
    0444). Writes go to a hidden ``.c.<random>.part`` file that is hard-linked into
    place (link refuses to replace an existing name, so two writers cannot overwrite each
    other) and only then unlinked. The retention record is written before the object
    appears; an object found without one is treated as locked.

    The engine enforces retention; file modes only guard against accidents. Anyone with
    root on the host can still remove files, which is why off-host S3 with Object Lock
    exists as the stronger option.
    """

    worm = True

    def __init__(
        self, root: Path, *, create: bool = True, reserve_bytes: int = 0, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.root = Path(root)
        self.reserve_bytes = reserve_bytes
        self._clock = clock
        self._pending_files: list[Path] = []
        self._pending_dirs: set[Path] = set()
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._os_error(exc, "create the vault directory") from None
        elif not self.root.is_dir():
            raise VaultUnavailable(f"The vault directory {self.root} does not exist.")

    def __repr__(self) -> str:
        return f"FilesystemVault({str(self.root)!r})"

    @property
    def uri(self) -> str:
        return self.root.as_uri() if self.root.is_absolute() else str(self.root)

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _retention_path(self, path: Path) -> Path:
        return path.with_name(f".{path.name}.retention")

    def _os_error(self, exc: OSError, doing: str) -> VaultError:
        where = f"the vault at {self.root}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return VaultFull(f"Could not {doing}: {where} is full (no space left on the device).")
        if exc.errno == errno.EROFS:
            return VaultReadOnly(f"Could not {doing}: {where} is on a read-only file system.")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return VaultReadOnly(f"Could not {doing}: {where} is not writable (permission denied).")
        return VaultUnavailable(f"Could not {doing} in {where}: {exc.strerror or exc}.")

    def now(self) -> datetime:
        return self._clock()

    def free_bytes(self) -> int | None:
        try:
            usage = shutil.disk_usage(self.root)
        except OSError as exc:
            raise self._os_error(exc, "check free space") from None
        return max(0, usage.free - self.reserve_bytes)

    def check_writable(self) -> None:
        try:
            flags = os.statvfs(self.root).f_flag
        except OSError as exc:
            raise self._os_error(exc, "reach the vault directory") from None
        if flags & os.ST_RDONLY:
            raise VaultReadOnly(f"The vault at {self.root} is on a read-only file system.")
        probe = self.root / f".write-probe-{secrets.token_hex(8)}.part"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise self._os_error(exc, "write a test file") from None

    def extend_retention(self, key: str, retain_until: datetime) -> ObjectInfo:
        """Replace the retention record by a later one (atomically; a record is never shortened)."""
        path = self.path_of(key)
        info = self.stat(key)
        if info is None:
            raise ObjectMissing(f"Object {key} is not in the vault at {self.root}.")
        if info.retain_until is not None and info.retain_until >= retain_until:
            return info
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.retention.part")
        record = json.dumps({"retain_until": format_utc(retain_until)}).encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
            try:
                os.write(fd, record)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._retention_path(path))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise self._os_error(exc, f"extend the retention of {key}") from None
        return ObjectInfo(key=key, size=info.size, retain_until=retain_until)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self.path_of(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        return ObjectInfo(key=key, size=size, retain_until=self._read_retention(path))

    def _read_retention(self, path: Path) -> datetime | None:
        try:
            data = json.loads(self._retention_path(path).read_text(encoding="utf-8"))
            value = data["retain_until"]
            return None if value is None else parse_utc(str(value))
        except (OSError, ValueError, KeyError, TypeError):
            # Missing or unreadable retention record: keep the object, as if retained forever.
            return datetime.max.replace(tzinfo=UTC)

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        path = self.path_of(key)
        self._refuse_existing(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, f"create the folder for {key}") from None
        token = secrets.token_hex(6)
        tmp = path.with_name(f".{path.name}.{token}.part")
        retention_tmp = path.with_name(f".{path.name}.{token}.retention.part")
        retention = self._retention_path(path)
        size = 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    size += len(chunk)
                if durable:
                    os.fsync(fd)
                else:
                    start_writeback(fd)
                os.fchmod(fd, 0o444)
            finally:
                os.close(fd)
            record = json.dumps({"retain_until": format_utc(retain_until) if retain_until else None}).encode()
            fd = os.open(retention_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
            try:
                os.write(fd, record)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(retention_tmp, retention)
            except FileExistsError:
                # A record without its object is left by a crash between the two links of
                # an earlier attempt; it protects nothing, so it may be replaced. A record
                # with its object means another writer got there first.
                self._refuse_existing(key)
                os.replace(retention_tmp, retention)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ObjectExists(
                    f"Object {key} already exists in the vault; objects are never overwritten."
                ) from None
            os.unlink(tmp)
        except OSError as exc:
            raise self._os_error(exc, f"write object {key}") from None
        finally:
            for leftover in (tmp, retention_tmp):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
        if durable:
            self._fsync_dir(path.parent)
        else:
            self._pending_files.extend((path, retention))
            self._pending_dirs.add(path.parent)
        return ObjectInfo(key=key, size=size, retain_until=retain_until)

    def _refuse_existing(self, key: str) -> None:
        existing = self.stat(key)
        if existing is None:
            return
        if existing.locked(self._clock()):
            raise ObjectLocked(
                f"Object {key} is retained until {format_utc(existing.retain_until or self._clock())}; "
                "it cannot be overwritten."
            )
        raise ObjectExists(f"Object {key} already exists in the vault; objects are never overwritten.")

    def _fsync_dir(self, directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise self._os_error(exc, "sync a folder") from None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def sync(self) -> None:
        dirs: set[Path] = set()
        for directory in self._pending_dirs:
            # New folders must reach the disk too, so walk up to the root.
            current = directory
            while current != self.root and self.root in current.parents:
                dirs.add(current)
                current = current.parent
        dirs.add(self.root)
        try:
            flush(self._pending_files, dirs, anchor=self.root)
        except OSError as exc:
            raise self._os_error(exc, "flush objects to disk") from None
        self._pending_files.clear()
        self._pending_dirs.clear()

    @contextlib.contextmanager
    def open(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[Readable]:
        path = self.path_of(key)
        try:
            handle = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the context manager
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(f"Object {key} is missing from the vault at {self.root}.") from None
        except OSError as exc:
            raise self._os_error(exc, f"read object {key}") from None
        with handle:
            if offset:
                handle.seek(offset)
            yield handle if length is None else LimitedReader(handle, length)

    def delete(self, key: str) -> None:
        path = self.path_of(key)
        existing = self.stat(key)
        if existing is None:
            raise ObjectMissing(f"Object {key} is missing from the vault at {self.root}.")
        if existing.locked(self._clock()):
            until = existing.retain_until or self._clock()
            raise ObjectLocked(f"Object {key} is retained until {format_utc(until)}; it cannot be deleted before then.")
        try:
            os.unlink(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._retention_path(path))
        except OSError as exc:
            raise self._os_error(exc, f"delete object {key}") from None
        self._prune_empty_dirs(path.parent)

    def _prune_empty_dirs(self, directory: Path) -> None:
        current = directory
        while current != self.root and self.root in current.parents:
            try:
                current.rmdir()
            except OSError:
                return
            current = current.parent

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root if not prefix else self.root.joinpath(*check_key(prefix.rstrip("/")).split("/"))
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                full = Path(dirpath, name)
                if not stat_mod.S_ISREG(full.lstat().st_mode):
                    continue
                yield name if rel_dir == "." else f"{rel_dir}/{name}"
