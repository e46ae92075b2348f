"""What every vault backend provides, and the key rules and stream helpers they share.

Both backends store opaque bytes under keys such as ``asset/point/objects/00000001``
and refuse to overwrite or delete an object before its retain-until time.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from inventory.engine.crypto import Readable
from inventory.engine.errors import InvalidKey

SEGMENT_RE = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}"
KEY_RE = re.compile(rf"^{SEGMENT_RE}(/{SEGMENT_RE})*$")
RESERVED_SUFFIXES = (".part", ".retention")


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_key(key: str) -> str:
    """Keys are relative paths of ASCII letters, digits, ``. _ -``; no part starts with a dot."""
    if len(key) > 900 or not KEY_RE.match(key) or key.endswith(RESERVED_SUFFIXES):
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

    def extend_retention(self, key: str, retain_until: datetime) -> ObjectInfo:
        """Keep an object at least until ``retain_until``; never shortens a retention."""
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
