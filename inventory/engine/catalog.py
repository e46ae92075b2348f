"""What a vault holds, read from the vault alone: its points in both manifest formats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from inventory.engine.chunks.manifest import MANIFEST_V2_NAME, ChunkedManifest, read_manifest_v2
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import EngineError, ObjectMissing
from inventory.engine.format1.read import read_manifest
from inventory.engine.manifest import MANIFEST_NAME, Manifest
from inventory.engine.vaults import Vault


@dataclass(frozen=True)
class PointInfo:
    point: str
    version: int
    data_as_of: datetime | None = None
    files: int = 0
    bytes: int = 0
    key_id: str = ""
    retain_until: datetime | None = None
    new_bytes: int | None = None
    reused_bytes: int | None = None
    problem: str = ""


def point_prefixes(vault: Vault) -> Iterator[tuple[str, int]]:
    """(point prefix, manifest format) of every point with a manifest, in key order."""
    for key in vault.list(""):
        prefix, _, name = key.rpartition("/")
        if name == MANIFEST_NAME and prefix:
            yield prefix, 1
        elif name == MANIFEST_V2_NAME and prefix:
            yield prefix, 2


def open_point(*, vault: Vault, point: str, keyring: KeyRing) -> Manifest | ChunkedManifest:
    """A point's authenticated manifest, whichever format it was written in."""
    try:
        return read_manifest_v2(vault=vault, point=point, keyring=keyring)
    except ObjectMissing:
        return read_manifest(vault=vault, point_prefix=point, keyring=keyring)


def list_points(*, vault: Vault, keyring: KeyRing) -> Iterator[PointInfo]:
    """Every point in the vault; one that cannot be read is listed with its problem."""
    for prefix, version in point_prefixes(vault):
        try:
            if version == 2:
                chunked = read_manifest_v2(vault=vault, point=prefix, keyring=keyring)
                yield PointInfo(
                    point=prefix,
                    version=2,
                    data_as_of=chunked.data_as_of,
                    files=chunked.total_files,
                    bytes=chunked.total_bytes,
                    key_id=chunked.key_id,
                    retain_until=chunked.retain_until,
                    new_bytes=chunked.totals.new_bytes,
                    reused_bytes=chunked.totals.reused_bytes,
                )
            else:
                manifest = read_manifest(vault=vault, point_prefix=prefix, keyring=keyring)
                yield PointInfo(
                    point=prefix,
                    version=1,
                    data_as_of=manifest.data_as_of,
                    files=manifest.total_files,
                    bytes=manifest.total_bytes,
                    key_id=manifest.key_id,
                    retain_until=manifest.retain_until,
                )
        except EngineError as exc:
            yield PointInfo(point=prefix, version=version, problem=str(exc))
