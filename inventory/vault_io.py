"""The seam between inventory rows and the backup engine (`inventory.engine`).

Everything that touches vault bytes goes through here, so services deal in
rows and results, and the engine's typed errors become one `BackupFailure`
with a stable code and a sentence for the asset page.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from inventory import engine
from inventory.models import Asset, Vault, VaultKind


class BackupFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BackupStopped(Exception):
    """The row says this attempt is no longer ours (another worker took it over)."""


@dataclass(frozen=True)
class BackupResult:
    point_id: uuid.UUID
    data_as_of: datetime
    size_bytes: int
    file_count: int
    manifest: dict[str, Any]
    manifest_sha256: str
    key_id: str
    immutable_until: datetime | None
    verified_at: datetime


ProgressFn = Callable[[int, int], bool]  # (bytes_done, bytes_total) -> keep going?


def keyring() -> engine.KeyRing:
    try:
        return engine.KeyRing.load(env_value=os.environ.get("VAULT_KEYS"), key_file=settings.VAULT_KEY_FILE)
    except engine.EngineError as exc:
        raise BackupFailure(exc.code, str(exc)) from exc


def s3_config(region: str | None = None) -> engine.S3Config:
    # Credentials come from the usual AWS variables or instance role, never the database.
    return engine.S3Config(endpoint_url=settings.S3_ENDPOINT_URL or None, region=region)


def open_vault(vault: Vault) -> engine.Vault:
    config = vault.config or {}
    try:
        if vault.kind == VaultKind.S3:
            return engine.S3Vault(
                str(config["bucket"]),
                str(config.get("prefix", "")),
                config=engine.S3Config(
                    endpoint_url=str(config.get("endpoint_url") or settings.S3_ENDPOINT_URL or "") or None,
                    region=vault.region,
                ),
            )
        path = Path(str(config["path"]))
        if not path.is_absolute():
            path = settings.VAR_DIR / path
        return engine.FilesystemVault(path, reserve_bytes=int(config.get("reserve_bytes", 0)))
    except engine.EngineError as exc:
        raise BackupFailure(exc.code, str(exc)) from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise BackupFailure("vault_config", f"Vault {vault.name} is misconfigured: {exc}.") from exc


def point_prefix(asset_id: uuid.UUID, point_id: uuid.UUID) -> str:
    return f"{asset_id}/{point_id}"


def take_backup(
    *, asset: Asset, vault: Vault, point_id: uuid.UUID, worm_days: int, progress: ProgressFn
) -> BackupResult:
    """Stream the asset's source into the vault; returns only once the manifest has been read back."""
    stop = False

    def on_progress(done: int, total: int) -> None:
        nonlocal stop
        if not progress(done, total):
            stop = True

    now = timezone.now()
    retain_until = now + timedelta(days=worm_days) if worm_days else None
    key_id = settings.VAULT_KEY_ID
    try:
        manifest = engine.backup_tree(
            source=engine.source_from_uri(asset.source_uri, s3=s3_config()),
            vault=open_vault(vault),
            point_prefix=point_prefix(asset.public_id, point_id),
            keyring=keyring(),
            key_id=key_id,
            retain_until=retain_until,
            progress=on_progress,
            should_cancel=lambda: stop,
            check_interval=settings.BACKUP_PROGRESS_SECONDS,
        )
    except engine.Cancelled:
        raise BackupStopped from None
    except engine.EngineError as exc:
        raise BackupFailure(exc.code, str(exc)) from exc
    return BackupResult(
        point_id=point_id,
        data_as_of=manifest.data_as_of,
        size_bytes=manifest.total_bytes,
        file_count=manifest.total_files,
        manifest=manifest.to_json(),
        manifest_sha256=hashlib.sha256(manifest.canonical_bytes()).hexdigest(),
        key_id=manifest.key_id,
        immutable_until=manifest.retain_until,
        verified_at=timezone.now(),
    )


def delete_point(*, vault: Vault, asset_id: uuid.UUID, point_id: uuid.UUID, now: datetime) -> int:
    """Remove a point's objects; the engine refuses while any is still retained."""
    try:
        return engine.delete_point(vault=open_vault(vault), point_prefix=point_prefix(asset_id, point_id), now=now)
    except engine.EngineError as exc:
        raise BackupFailure(exc.code, str(exc)) from exc


def verify_point(*, vault: Vault, manifest: dict[str, Any], decrypt: bool = False) -> engine.VerifyReport:
    """Check a point's objects where they are stored (size and stored SHA-256; with `decrypt`, the plaintext too).

    Problems with the point itself (a changed or missing object, an altered
    manifest) come back in the report. A vault that cannot be reached or a
    key that is not loaded raise `BackupFailure`: they say nothing about the
    point's bytes, so they must not be taken for corruption.
    """
    try:
        parsed = engine.Manifest.from_json(manifest)
        ring = keyring()
        if parsed.key_id not in ring:
            raise BackupFailure(
                "key_missing", f"Key {parsed.key_id!r} is not loaded, so the point's manifest cannot be checked."
            )
        return engine.verify_point(vault=open_vault(vault), manifest=parsed, keyring=ring, decrypt=decrypt)
    except engine.EngineError as exc:
        raise BackupFailure(exc.code, str(exc)) from exc
