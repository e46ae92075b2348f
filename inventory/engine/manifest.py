"""The manifest of a recovery point: what was backed up, where it is stored, and its hashes."""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from inventory.engine.crypto import KeyRing
from inventory.engine.errors import ManifestInvalid, UnsafePath

MANIFEST_FORMAT = "dr-portal-manifest"
MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"
OBJECTS_DIR = "objects"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise :class:`UnsafePath`.

    Safe means: not empty, not absolute, no ``..`` or ``.`` or empty parts, no NUL and no
    backslash (which another platform would read as a separator). Such a path joined to
    a directory can only name something inside it (symlinks aside, which restore checks).
    """
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        raise UnsafePath(f"Refusing path {path!r}: it must be a relative path inside the target.")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath(f"Refusing path {path!r}: it must not contain '..', '.' or empty parts.")
    return path


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (UTC)")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(text: object, what: str) -> datetime:
    if not isinstance(text, str):
        raise ManifestInvalid(f"Manifest field {what!r} is missing or not a date.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ManifestInvalid(f"Manifest field {what!r} is not an ISO date: {text!r}.") from None
    if moment.tzinfo is None:
        raise ManifestInvalid(f"Manifest field {what!r} has no time zone.")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class FileEntry:
    """One backed-up file. ``path`` is relative to the source root, with ``/`` separators.

    Its sealed form is ``stored_size`` bytes at ``offset`` in the vault object
    ``object_key``: a whole object for a large file, one member of a pack of small files.
    """

    path: str
    size: int
    sha256: str
    object_key: str
    stored_size: int
    stored_sha256: str
    mode: int = 0o644
    version_id: str | None = None
    offset: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "object": self.object_key,
            "stored_size": self.stored_size,
            "stored_sha256": self.stored_sha256,
            "offset": self.offset,
            "mode": f"{self.mode:04o}",
        }
        if self.version_id is not None:
            data["version"] = self.version_id
        return data

    @classmethod
    def from_json(cls, data: object) -> FileEntry:
        if not isinstance(data, dict):
            raise ManifestInvalid("A manifest file entry is not an object.")
        try:
            entry = cls(
                path=str(data["path"]),
                size=int(data["size"]),
                sha256=str(data["sha256"]),
                object_key=str(data["object"]),
                stored_size=int(data["stored_size"]),
                stored_sha256=str(data["stored_sha256"]),
                mode=int(str(data.get("mode", "0644")), 8),
                version_id=None if data.get("version") is None else str(data["version"]),
                offset=int(data.get("offset", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestInvalid(f"A manifest file entry is incomplete or malformed ({exc}).") from None
        check_relative_path(entry.path)
        sizes_ok = entry.size >= 0 and entry.stored_size > entry.size and entry.offset >= 0
        if not (_SHA256.match(entry.sha256) and _SHA256.match(entry.stored_sha256) and sizes_ok):
            raise ManifestInvalid(f"The manifest entry for {entry.path!r} has a bad size or hash.")
        if not 0 <= entry.mode <= 0o777:
            raise ManifestInvalid(f"The manifest entry for {entry.path!r} has a bad mode.")
        return entry


@dataclass(frozen=True)
class Manifest:
    """A recovery point's table of contents. Written last: a point without one is incomplete.

    ``mac`` is an HMAC-SHA256 of the canonical JSON (without ``mac``) under a key derived
    from the point's encryption key, so a manifest cannot be edited without the key.
    """

    point: str
    source: str
    key_id: str
    chunk_size: int
    created_at: datetime
    data_as_of: datetime
    retain_until: datetime | None
    files: tuple[FileEntry, ...]
    skipped: tuple[dict[str, str], ...] = ()
    mac: str = ""
    version: int = MANIFEST_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_key(self) -> str:
        return f"{self.point}/{MANIFEST_NAME}"

    @property
    def total_files(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    @property
    def total_stored_bytes(self) -> int:
        return sum(entry.stored_size for entry in self.files)

    def to_json(self, *, with_mac: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "version": self.version,
            "point": self.point,
            "source": self.source,
            "cipher": "AES-256-GCM",
            "key_id": self.key_id,
            "chunk_size": self.chunk_size,
            "created_at": _iso(self.created_at),
            "data_as_of": _iso(self.data_as_of),
            "retain_until": _iso(self.retain_until) if self.retain_until else None,
            "totals": {
                "files": self.total_files,
                "bytes": self.total_bytes,
                "stored_bytes": self.total_stored_bytes,
            },
            "files": [entry.to_json() for entry in self.files],
            "skipped": [dict(item) for item in self.skipped],
            "extra": self.extra,
        }
        if with_mac:
            data["mac"] = self.mac
        return data

    def canonical_bytes(self) -> bytes:
        """The bytes the MAC covers: sorted keys, no whitespace, UTF-8."""
        return json.dumps(self.to_json(with_mac=False), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"

    def signed(self, keyring: KeyRing) -> Manifest:
        return _replace(self, mac=keyring.manifest_mac(self.key_id, self.canonical_bytes()))

    def check_mac(self, keyring: KeyRing) -> None:
        expected = keyring.manifest_mac(self.key_id, self.canonical_bytes())
        if not self.mac or not _consteq(expected, self.mac):
            raise ManifestInvalid(
                f"The manifest of point {self.point!r} does not match its signature: it was altered, "
                "or it was written with a different key."
            )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestInvalid(f"The manifest is not valid JSON ({exc}).") from None
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ManifestInvalid("This is not a DR Portal manifest.")
        if data.get("version") != MANIFEST_VERSION:
            raise ManifestInvalid(f"Manifest version {data.get('version')!r} is not supported.")
        files_raw = data.get("files")
        if not isinstance(files_raw, list):
            raise ManifestInvalid("The manifest has no file list.")
        files = tuple(FileEntry.from_json(item) for item in files_raw)
        paths = [entry.path for entry in files]
        if len(set(paths)) != len(paths):
            raise ManifestInvalid("The manifest lists a path twice.")
        retain = data.get("retain_until")
        skipped_raw = data.get("skipped", [])
        extra = data.get("extra", {})
        if not isinstance(skipped_raw, list) or not isinstance(extra, dict):
            raise ManifestInvalid("The manifest's 'skipped' or 'extra' field is malformed.")
        try:
            manifest = cls(
                point=str(data["point"]),
                source=str(data["source"]),
                key_id=str(data["key_id"]),
                chunk_size=int(data["chunk_size"]),
                created_at=_parse_iso(data.get("created_at"), "created_at"),
                data_as_of=_parse_iso(data.get("data_as_of"), "data_as_of"),
                retain_until=_parse_iso(retain, "retain_until") if retain is not None else None,
                files=files,
                skipped=tuple({str(k): str(v) for k, v in dict(item).items()} for item in skipped_raw),
                mac=str(data.get("mac", "")),
                extra=extra,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestInvalid(f"The manifest is incomplete or malformed ({exc}).") from None
        totals = data.get("totals")
        if not isinstance(totals, dict) or (
            totals.get("files"),
            totals.get("bytes"),
            totals.get("stored_bytes"),
        ) != (manifest.total_files, manifest.total_bytes, manifest.total_stored_bytes):
            raise ManifestInvalid("The manifest's totals do not add up to its file list.")
        return manifest


def object_key(point: str, index: int) -> str:
    return f"{point}/{OBJECTS_DIR}/{index:08d}"


def manifest_key(point: str) -> str:
    return f"{point}/{MANIFEST_NAME}"


def _consteq(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode("ascii", "replace"), right.encode("ascii", "replace"))


def _replace(manifest: Manifest, **changes: Any) -> Manifest:
    return replace(manifest, **changes)


def path_parts(path: str) -> tuple[str, ...]:
    return PurePosixPath(check_relative_path(path)).parts
