"""Vault backends: where sealed objects are kept, write-once, with retention.

Both backends store opaque bytes under keys such as ``asset/point/objects/00000001``
and refuse to overwrite or delete an object before its retain-until time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import stat as stat_mod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from inventory.engine._fsutil import flush, start_writeback
from inventory.engine.crypto import Readable
from inventory.engine.errors import (
    InvalidKey,
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    VaultError,
    VaultFull,
    VaultReadOnly,
    VaultUnavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}"
_KEY = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*$")
_RESERVED_SUFFIXES = (".part", ".retention")
DEFAULT_PART_SIZE = 8 * 1024 * 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_key(key: str) -> str:
    """Keys are relative paths of ASCII letters, digits, ``. _ -``; no part starts with a dot."""
    if len(key) > 900 or not _KEY.match(key) or key.endswith(_RESERVED_SUFFIXES):
        raise InvalidKey(f"{key!r} is not a valid vault object key.")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    retain_until: datetime | None
    version_id: str | None = None

    def locked(self, now: datetime) -> bool:
        return self.retain_until is not None and now < self.retain_until


@runtime_checkable
class Vault(Protocol):
    """What the backup and restore code needs from a place that keeps objects."""

    @property
    def uri(self) -> str:
        """Where the vault is, for people (never contains a secret)."""
        ...

    @property
    def worm(self) -> bool:
        """True when the vault itself refuses early overwrite and delete."""
        ...

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        """Store a new object from a stream of chunks; it appears whole or not at all.

        Refuses an existing key (:class:`ObjectLocked` while retained, else
        :class:`ObjectExists`). With ``durable=False`` the object may only be on stable
        storage after the next :meth:`sync`.
        """
        ...

    def sync(self) -> None:
        """Make every object put with ``durable=False`` durable."""
        ...

    def open(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> contextlib.AbstractContextManager[Readable]:
        """A stream of the object's bytes (``length`` of them from ``offset``, or all).

        :class:`ObjectMissing` when there is no such object.
        """
        ...

    def stat(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str) -> None:
        """Delete an object (every version); :class:`ObjectLocked` before retain-until."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` (a key prefix ending at a ``/`` boundary or empty), sorted."""
        ...

    def free_bytes(self) -> int | None:
        """Space left for objects, or None when the backend has no such limit to report."""
        ...

    def now(self) -> datetime:
        """The time retention is judged by (a clock can be injected for tests)."""
        ...

    def check_writable(self) -> None:
        """Raise :class:`VaultReadOnly` / :class:`VaultUnavailable` if a backup would fail to write."""
        ...


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


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
            return None if value is None else _parse_iso(str(value))
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
            record = json.dumps({"retain_until": _iso(retain_until) if retain_until else None}).encode()
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
                f"Object {key} is retained until {_iso(existing.retain_until or self._clock())}; "
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
            raise ObjectLocked(f"Object {key} is retained until {_iso(until)}; it cannot be deleted before then.")
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


@dataclass(frozen=True)
class S3Config:
    """How to reach an S3-compatible service. Secrets are kept out of ``repr``."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    path_style: bool = True

    def client(self) -> S3Client:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path" if self.path_style else "auto"},
            connect_timeout=10,
            read_timeout=60,
        )
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            config=config,
        )


def _client_error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class LimitedReader:
    """At most ``left`` bytes of a stream: one member of a pack object."""

    def __init__(self, handle: Any, left: int) -> None:
        self._handle = handle
        self._left = left

    @property
    def left(self) -> int:
        return self._left

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data: bytes = self._handle.read(size)
        self._left -= len(data)
        return data

    def readinto(self, buffer: Any, /) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)
        if len(view) > self._left:
            view = view[: self._left]
        readinto = getattr(self._handle, "readinto", None)
        if readinto is not None:
            got: int = readinto(view)
        else:
            data = self._handle.read(len(view))
            got = len(data)
            view[:got] = data
        self._left -= got
        return got


class _BodyReader:
    """Adapts a botocore streaming body to the engine's ``read``/``readinto`` streams."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._body.read(None if size < 0 else size)
        return data

    def close(self) -> None:
        self._body.close()


class S3Vault:
    """Objects in an S3 bucket under ``prefix``.

    With versioning on, the version id of each object is returned so a manifest can pin
    it. With Object Lock on the bucket, every object is written in COMPLIANCE mode with
    its retain-until date, so not even the account root can shorten it. Without Object
    Lock the engine still refuses early deletes (retain-until is kept in the object's
    metadata) but the storage does not, and :attr:`worm` is False.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        config: S3Config | None = None,
        client: S3Client | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.config = config or S3Config()
        self._client = client
        self.part_size = part_size
        self._clock = clock
        self._caps: tuple[bool, bool] | None = None

    def __repr__(self) -> str:
        return f"S3Vault(bucket={self.bucket!r}, prefix={self.prefix!r})"

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = self.config.client()
        return self._client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _s3_error(self, exc: Exception, doing: str) -> VaultError:
        code = _client_error_code(exc)
        where = self.uri
        if code in ("NoSuchBucket", "404", "NotFound") and "object" not in doing:
            return VaultUnavailable(f"Could not {doing}: the bucket of {where} does not exist.")
        if code in ("AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return VaultReadOnly(f"Could not {doing}: access to {where} was denied ({code}).")
        if code in ("QuotaExceeded", "EntityTooLarge", "InsufficientStorage"):
            return VaultFull(f"Could not {doing}: {where} refused the data as too large or over quota ({code}).")
        return VaultUnavailable(f"Could not {doing} at {where}: {exc}")

    def capabilities(self) -> tuple[bool, bool]:
        """(versioning enabled, object lock enabled), read once from the bucket."""
        if self._caps is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                versioning = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"
            except (ClientError, BotoCoreError) as exc:
                raise self._s3_error(exc, "read the bucket's versioning") from None
            try:
                lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
                locked = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except ClientError as exc:
                if _client_error_code(exc) not in ("ObjectLockConfigurationNotFoundError", "NotImplemented"):
                    raise self._s3_error(exc, "read the bucket's object lock setting") from None
                locked = False
            except BotoCoreError as exc:
                raise self._s3_error(exc, "read the bucket's object lock setting") from None
            self._caps = (versioning, locked)
        return self._caps

    @property
    def versioned(self) -> bool:
        return self.capabilities()[0]

    @property
    def worm(self) -> bool:
        return self.capabilities()[1]

    def free_bytes(self) -> int | None:
        return None

    def now(self) -> datetime:
        return self._clock()

    def check_writable(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._s3_error(exc, "reach the bucket") from None
        self.capabilities()

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if _client_error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._s3_error(exc, f"look up object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"look up object {key}") from None
        retain = head.get("ObjectLockRetainUntilDate")
        if retain is None and "retain-until" in head.get("Metadata", {}):
            retain = _parse_iso(head["Metadata"]["retain-until"])
        return ObjectInfo(
            key=key,
            size=int(head.get("ContentLength", 0)),
            retain_until=retain.astimezone(UTC) if retain else None,
            version_id=head.get("VersionId"),
        )

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._full(key)
        existing = self.stat(key)
        if existing is not None:
            if existing.locked(self._clock()):
                raise ObjectLocked(f"Object {key} is retained until {existing.retain_until}; it cannot be overwritten.")
            raise ObjectExists(f"Object {key} already exists in {self.uri}; objects are never overwritten.")
        extra: dict[str, Any] = {"Metadata": {}}
        if retain_until is not None:
            extra["Metadata"]["retain-until"] = _iso(retain_until)
            if self.worm:
                extra["ObjectLockMode"] = "COMPLIANCE"
                extra["ObjectLockRetainUntilDate"] = retain_until
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        size = 0
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        created = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **extra)
                        upload_id = created["UploadId"]
                    part = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    number = len(parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=part
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            if upload_id is None:
                done: Any = self.client.put_object(Bucket=self.bucket, Key=full, Body=bytes(buffer), **extra)
            else:
                if buffer or not parts:
                    number = len(parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=bytes(buffer)
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                done = self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                if "ObjectLockMode" in extra and retain_until is not None:
                    self._ensure_locked(full, done.get("VersionId"), retain_until)
        except (ClientError, BotoCoreError) as exc:
            self._abort(full, upload_id)
            raise self._s3_error(exc, f"write object {key}") from None
        except BaseException:
            self._abort(full, upload_id)
            raise
        return ObjectInfo(key=key, size=size, retain_until=retain_until, version_id=done.get("VersionId"))

    def _ensure_locked(self, full: str, version_id: str | None, retain_until: datetime) -> None:
        """Make sure a multipart object really carries its COMPLIANCE retention.

        Some S3-compatible servers drop the lock headers of CreateMultipartUpload, so the
        retention is read back and, if missing, set explicitly on that exact version.
        """
        version: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        head = self.client.head_object(Bucket=self.bucket, Key=full, **version)
        current = head.get("ObjectLockRetainUntilDate")
        if head.get("ObjectLockMode") == "COMPLIANCE" and current is not None and current >= retain_until:
            return
        self.client.put_object_retention(
            Bucket=self.bucket,
            Key=full,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": retain_until},
            **version,
        )
        head = self.client.head_object(Bucket=self.bucket, Key=full, **version)
        if head.get("ObjectLockMode") != "COMPLIANCE":
            raise VaultError(f"{self.uri} accepted {full} but did not put it under Object Lock.")

    def _abort(self, full: str, upload_id: str | None) -> None:
        if upload_id is None:
            return
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)

    def sync(self) -> None:
        """S3 acknowledges a write only once it is durable, so there is nothing to flush."""

    @contextlib.contextmanager
    def open(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[Readable]:
        from botocore.exceptions import BotoCoreError, ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        if version_id:
            args["VersionId"] = version_id
        if length is not None:
            if length <= 0:
                raise ValueError("length must be positive")
            args["Range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset:
            args["Range"] = f"bytes={offset}-"
        try:
            response = self.client.get_object(**args)
        except ClientError as exc:
            if _client_error_code(exc) in ("NoSuchKey", "404", "NoSuchVersion"):
                raise ObjectMissing(f"Object {key} is missing from {self.uri}.") from None
            raise self._s3_error(exc, f"read object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"read object {key}") from None
        reader = _BodyReader(response["Body"])
        try:
            yield reader
        finally:
            reader.close()

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        existing = self.stat(key)
        if existing is None:
            raise ObjectMissing(f"Object {key} is missing from {self.uri}.")
        if existing.locked(self._clock()):
            raise ObjectLocked(
                f"Object {key} is retained until {existing.retain_until}; it cannot be deleted before then."
            )
        full = self._full(key)
        try:
            if self.versioned:
                # A plain delete on a versioned bucket only adds a delete marker; remove
                # every version so retention really frees the space.
                paginator = self.client.get_paginator("list_object_versions")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                    for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                        if item.get("Key") == full:
                            self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=item["VersionId"])
            else:
                self.client.delete_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _client_error_code(exc) == "AccessDenied":
                raise ObjectLocked(f"The bucket refused to delete {key}: it is still under Object Lock.") from None
            raise self._s3_error(exc, f"delete object {key}") from None
        except BotoCoreError as exc:
            raise self._s3_error(exc, f"delete object {key}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        base = self._full(prefix.rstrip("/")) + "/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for item in page.get("Contents", []):
                    yield item["Key"][strip:]
        except (ClientError, BotoCoreError) as exc:
            raise self._s3_error(exc, "list objects") from None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// address")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, prefix.strip("/")


def vault_from_uri(uri: str, *, s3: S3Config | None = None, reserve_bytes: int = 0) -> Vault:
    """A vault from ``s3://bucket/prefix``, ``file:///path`` or a plain directory path."""
    if uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(uri)
        return S3Vault(bucket, prefix, config=s3)
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    return FilesystemVault(Path(uri), reserve_bytes=reserve_bytes)
