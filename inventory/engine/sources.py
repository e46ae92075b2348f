"""Backup sources: a local directory or file, or everything under ``s3://bucket/prefix``."""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from inventory.engine.crypto import Readable
from inventory.engine.errors import SourceMissing, SourceUnreadable
from inventory.engine.manifest import check_relative_path
from inventory.engine.vaults.s3 import BodyReader, S3Config, client_error_code, parse_s3_uri


@dataclass(frozen=True)
class SourceFile:
    """One file to back up; ``path`` is relative to the source root with ``/`` separators."""

    path: str
    size: int
    mode: int = 0o644
    handle: str = ""  # backend-specific locator (absolute path, S3 key)


@dataclass
class SourceScan:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.files)


class Source(Protocol):
    @property
    def uri(self) -> str: ...

    def scan(self) -> SourceScan:
        """List the files to back up, in a stable order. :class:`SourceMissing` if there is nothing there."""
        ...

    def open(self, item: SourceFile) -> contextlib.AbstractContextManager[Readable]: ...


@dataclass
class Listing:
    """The files of a source in path order, for a backup that must not hold them all.

    ``files()`` may be called more than once (each call walks again); ``count`` and
    ``total_bytes`` come from a first walk and are for progress and space checks only
    (the tree may change between walks; the manifest records what was read).
    """

    files: Callable[[], Iterator[SourceFile]]
    count: int
    total_bytes: int
    skipped: list[dict[str, str]]


def listing(source: Source) -> Listing:
    """Stream a :class:`LocalSource`; any other source is listed whole by its ``scan``."""
    if isinstance(source, LocalSource):
        return source.listing()
    scan = source.scan()
    files = sorted(scan.files, key=lambda item: item.path)
    return Listing(files=lambda: iter(files), count=len(files), total_bytes=scan.total_bytes, skipped=scan.skipped)


class LocalSource:
    """A directory (walked recursively) or a single file.

    Symbolic links inside the tree, sockets, devices and names that are not valid UTF-8
    are skipped and listed in the manifest's ``skipped`` with the reason: following links
    could leave the tree or loop, and a name must round-trip through JSON.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def uri(self) -> str:
        return str(self.root)

    def scan(self) -> SourceScan:
        try:
            info = self.root.stat()
        except FileNotFoundError:
            raise SourceMissing(f"The source {self.root} does not exist.") from None
        except OSError as exc:
            raise SourceUnreadable(f"The source {self.root} cannot be read: {exc.strerror or exc}.") from None
        scan = SourceScan()
        if stat_mod.S_ISREG(info.st_mode):
            scan.files.append(SourceFile(self.root.name, info.st_size, info.st_mode & 0o777, str(self.root)))
            return scan
        if not stat_mod.S_ISDIR(info.st_mode):
            raise SourceUnreadable(f"The source {self.root} is neither a file nor a directory.")
        errors: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(self.root, onerror=errors.append):
            rel_dir = os.path.relpath(dirpath, self.root)
            dirnames.sort()
            keep_dirs = []
            for name in dirnames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if _undecodable(rel):
                    scan.skipped.append({"path": _printable(rel), "reason": "name is not valid UTF-8"})
                elif os.path.islink(os.path.join(dirpath, name)):
                    scan.skipped.append({"path": rel, "reason": "symbolic link"})
                else:
                    keep_dirs.append(name)
            dirnames[:] = keep_dirs
            for name in sorted(filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                full = os.path.join(dirpath, name)
                if _undecodable(rel):
                    scan.skipped.append({"path": _printable(rel), "reason": "name is not valid UTF-8"})
                    continue
                try:
                    st = os.lstat(full)
                except OSError as exc:
                    scan.skipped.append({"path": rel, "reason": f"cannot be read: {exc.strerror}"})
                    continue
                if stat_mod.S_ISLNK(st.st_mode):
                    scan.skipped.append({"path": rel, "reason": "symbolic link"})
                elif not stat_mod.S_ISREG(st.st_mode):
                    scan.skipped.append({"path": rel, "reason": "not a regular file"})
                else:
                    scan.files.append(SourceFile(check_relative_path(rel), st.st_size, st.st_mode & 0o777, full))
        if errors:
            first = errors[0]
            raise SourceUnreadable(
                f"Part of the source {self.root} cannot be read: {first.strerror} ({first.filename})."
            )
        scan.files.sort(key=lambda item: item.path)
        return scan

    def listing(self) -> Listing:
        """Files in path order, walked folder by folder: memory holds one folder's names per level.

        Unlike :meth:`scan`, no list of every file is built, so a tree of millions of
        files costs what its widest folders cost.
        """
        root = self._root_info()
        if root is not None:
            return Listing(files=lambda: iter([root]), count=1, total_bytes=root.size, skipped=[])
        skipped: list[dict[str, str]] = []
        count = total = 0
        for item in self._walk("", str(self.root), skipped):
            count += 1
            total += item.size

        def files() -> Iterator[SourceFile]:
            return self._walk("", str(self.root), [])

        return Listing(files=files, count=count, total_bytes=total, skipped=skipped)

    def _root_info(self) -> SourceFile | None:
        """The source as one file when it is a file; None for a folder; errors when neither."""
        try:
            info = self.root.stat()
        except FileNotFoundError:
            raise SourceMissing(f"The source {self.root} does not exist.") from None
        except OSError as exc:
            raise SourceUnreadable(f"The source {self.root} cannot be read: {exc.strerror or exc}.") from None
        if stat_mod.S_ISREG(info.st_mode):
            return SourceFile(self.root.name, info.st_size, info.st_mode & 0o777, str(self.root))
        if not stat_mod.S_ISDIR(info.st_mode):
            raise SourceUnreadable(f"The source {self.root} is neither a file nor a directory.")
        return None

    def _walk(self, rel_dir: str, full_dir: str, skipped: list[dict[str, str]]) -> Iterator[SourceFile]:
        try:
            with os.scandir(full_dir) as listing:
                entries = list(listing)
        except OSError as exc:
            raise SourceUnreadable(
                f"Part of the source {self.root} cannot be read: {exc.strerror} ({exc.filename})."
            ) from None
        # A folder sorts as "name/": then files come out in the order of their whole paths,
        # the order a format-2 manifest requires ("a-b" < "a/x" < "a0").
        keyed: list[tuple[str, str, str, os.stat_result | None]] = []
        for entry in entries:
            rel = entry.name if not rel_dir else f"{rel_dir}/{entry.name}"
            if _undecodable(rel):
                skipped.append({"path": _printable(rel), "reason": "name is not valid UTF-8"})
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append({"path": rel, "reason": f"cannot be read: {exc.strerror}"})
                continue
            if stat_mod.S_ISLNK(st.st_mode):
                skipped.append({"path": rel, "reason": "symbolic link"})
            elif stat_mod.S_ISDIR(st.st_mode):
                keyed.append((entry.name + "/", rel, entry.path, None))
            elif stat_mod.S_ISREG(st.st_mode):
                keyed.append((entry.name, rel, entry.path, st))
            else:
                skipped.append({"path": rel, "reason": "not a regular file"})
        del entries
        keyed.sort(key=lambda row: row[0])
        for _key, rel, full, info in keyed:
            if info is None:
                yield from self._walk(rel, full, skipped)
            else:
                yield SourceFile(check_relative_path(rel), info.st_size, info.st_mode & 0o777, full)

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        try:
            # O_NOFOLLOW: a file swapped for a link after the scan must not be followed.
            fd = os.open(item.handle, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise SourceMissing(f"The file {item.path} disappeared from the source during the backup.") from None
        except OSError as exc:
            raise SourceUnreadable(f"The file {item.path} cannot be read: {exc.strerror or exc}.") from None
        with open(fd, "rb", buffering=0) as handle:
            yield _GuardedReader(handle, item.path)


class _GuardedReader:
    """Turns read errors into :class:`SourceUnreadable` naming the file."""

    def __init__(self, handle: Any, path: str) -> None:
        self._handle = handle
        self._path = path

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._handle.read(size)
        except OSError as exc:
            raise SourceUnreadable(f"Reading {self._path} failed: {exc.strerror or exc}.") from None
        return data

    def readinto(self, buffer: Any, /) -> int:
        try:
            got: int = self._handle.readinto(buffer)
        except OSError as exc:
            raise SourceUnreadable(f"Reading {self._path} failed: {exc.strerror or exc}.") from None
        return got


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


class S3Source:
    """Every object under ``s3://bucket/prefix`` (keys ending in ``/`` are folder markers and skipped)."""

    def __init__(self, bucket: str, prefix: str = "", *, config: S3Config | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.config = config or S3Config()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.config.client()
        return self._client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def scan(self) -> SourceScan:
        from botocore.exceptions import BotoCoreError, ClientError

        base = f"{self.prefix}/" if self.prefix else ""
        scan = SourceScan()
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    rel = key[len(base) :]
                    if not rel or rel.endswith("/"):
                        continue
                    try:
                        check_relative_path(rel)
                    except Exception:
                        scan.skipped.append({"path": rel, "reason": "key is not a safe relative path"})
                        continue
                    scan.files.append(SourceFile(rel, int(item.get("Size", 0)), 0o644, key))
        except ClientError as exc:
            if client_error_code(exc) == "NoSuchBucket":
                raise SourceMissing(f"The source bucket of {self.uri} does not exist.") from None
            raise SourceUnreadable(f"The source {self.uri} cannot be listed: {exc}") from None
        except BotoCoreError as exc:
            raise SourceUnreadable(f"The source {self.uri} cannot be reached: {exc}") from None
        if not scan.files and not scan.skipped:
            raise SourceMissing(f"The source {self.uri} holds no objects.")
        scan.files.sort(key=lambda item: item.path)
        return scan

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=item.handle)
        except ClientError as exc:
            if client_error_code(exc) in ("NoSuchKey", "404"):
                raise SourceMissing(f"The object {item.path} disappeared from {self.uri} during the backup.") from None
            raise SourceUnreadable(f"The object {item.path} in {self.uri} cannot be read: {exc}") from None
        except BotoCoreError as exc:
            raise SourceUnreadable(f"The object {item.path} in {self.uri} cannot be read: {exc}") from None
        reader = BodyReader(response["Body"])
        try:
            yield reader
        finally:
            reader.close()


def source_from_uri(uri: str | Path, *, s3: S3Config | None = None) -> Source:
    """``s3://bucket/prefix`` → :class:`S3Source`; anything else is a local path."""
    text = str(uri)
    if text.startswith("s3://"):
        bucket, prefix = parse_s3_uri(text)
        return S3Source(bucket, prefix, config=s3)
    if text.startswith("file://"):
        text = text[len("file://") :]
    return LocalSource(Path(text))
