"""What every new point must pass before a byte is written, and deleting a point after retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from inventory.engine.crypto import KeyRing
from inventory.engine.errors import ObjectExists, ObjectLocked
from inventory.engine.sources import Source, source_from_uri
from inventory.engine.vaults import S3Config, Vault, check_key

MANIFEST_NAMES = ("manifest.json", "manifest.v2")  # format 1, format 2


def begin_point(
    *,
    source: str | Path | Source,
    vault: Vault,
    point_prefix: str,
    keyring: KeyRing,
    key_id: str,
    retain_until: datetime | None,
    s3: S3Config | None,
    clock: Callable[[], datetime],
) -> Source:
    """Check a new point can be written (key loaded, vault writable, name unused); returns its source.

    Each check fails before anything is touched, so a refused backup leaves no trace.
    """
    keyring.key(key_id)
    check_key(point_prefix)
    src = source if not isinstance(source, (str, Path)) else source_from_uri(source, s3=s3)
    vault.check_writable()
    for name in MANIFEST_NAMES:
        if vault.stat(f"{point_prefix}/{name}") is not None:
            raise ObjectExists(
                f"Recovery point {point_prefix} already exists in {vault.uri}; points are never rewritten."
            )
    if retain_until is not None and retain_until <= clock():
        raise ObjectLocked("The retain-until time of a new point must be in the future.")
    return src


def delete_point(*, vault: Vault, point_prefix: str, now: datetime | None = None) -> int:
    """Delete a point's manifest and objects once their retention has passed; returns the count.

    Every object is checked first, so a point still (even partly) under retention is
    refused whole with :class:`ObjectLocked` rather than half-deleted. The manifest goes
    first, so a point that is being deleted never looks complete with objects missing.
    A chunk-store point owns only its manifest: its chunks go with a prune.
    """
    check_key(point_prefix)
    # ``now`` can only make the check stricter: each delete is judged again by the vault's clock.
    moment = now or vault.now()
    keys = list(vault.list(point_prefix))
    for key in keys:
        info = vault.stat(key)
        if info is not None and info.locked(moment):
            raise ObjectLocked(
                f"Recovery point {point_prefix} is retained until {info.retain_until:%Y-%m-%d %H:%M} UTC; "
                "it cannot be deleted yet."
            )
    manifests = [f"{point_prefix}/{name}" for name in MANIFEST_NAMES]
    ordered = [key for key in manifests if key in keys] + [key for key in keys if key not in manifests]
    for key in ordered:
        vault.delete(key)
    return len(ordered)
