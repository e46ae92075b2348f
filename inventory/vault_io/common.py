"""What every vault operation shares: the failure type, the key ring, opening a vault row, pacing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from inventory import engine
from inventory.models import Vault, VaultKind


class VaultIOFailure(Exception):
    """A vault operation (backup, restore, verify) failed; `code` for programs, str() for people.

    `evidence` carries what a run records about an integrity failure: the file and both hashes.
    """

    def __init__(self, code: str, message: str, *, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.evidence = evidence or {}

    @property
    def transient(self) -> bool:
        """Worth another attempt: the vault or disk may come back; damaged bytes will not."""
        return self.code in TRANSIENT_CODES


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
    stats: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[int, int], bool]  # (bytes_done, bytes_total) -> keep going?

TRANSIENT_CODES = frozenset({"vault_unavailable", "io_error", "vault_error"})


class _Pacer:
    """Wraps a progress callback: saves at most every `every` seconds and holds the rate under a cap.

    The cap (bytes per second, 0 for none) lets an operator keep a restore from
    saturating a shared disk or link; tests use it to make a restore slow enough
    to interrupt. With a cap the engine reports every chunk, so pauses stay short
    and no burst outruns the cap.
    """

    def __init__(self, progress: ProgressFn, *, every: float, max_bytes_per_second: int) -> None:
        self.progress = progress
        self.every = every
        self.cap = max_bytes_per_second
        self.started = time.monotonic()
        self.last_saved = float("-inf")
        self.stop = False

    @property
    def engine_interval(self) -> float:
        return 0.0 if self.cap else self.every  # with a cap, pace every chunk

    def __call__(self, done: int, total: int) -> None:
        if self.cap:
            ahead = done / self.cap - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(min(ahead, 1.0))
        now = time.monotonic()
        if now - self.last_saved >= self.every or done >= total:
            self.last_saved = now
            if not self.progress(done, total):
                self.stop = True

    def should_cancel(self) -> bool:
        return self.stop


def keyring() -> engine.KeyRing:
    try:
        return engine.KeyRing.load(env_value=os.environ.get("VAULT_KEYS"), key_file=settings.VAULT_KEY_FILE)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


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
        raise VaultIOFailure(exc.code, str(exc)) from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise VaultIOFailure("vault_config", f"Vault {vault.name} is misconfigured: {exc}.") from exc


def point_prefix(asset_id: uuid.UUID, point_id: uuid.UUID) -> str:
    return f"{asset_id}/{point_id}"


def delete_point(*, vault: Vault, asset_id: uuid.UUID, point_id: uuid.UUID, now: datetime) -> int:
    """Remove a point's objects; the engine refuses while any is still retained."""
    try:
        return engine.delete_point(vault=open_vault(vault), point_prefix=point_prefix(asset_id, point_id), now=now)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def prune_vault(*, vault: Vault) -> engine.PruneReport:
    """Mark and sweep the vault's chunk store (see `inventory.engine.chunks.prune`)."""
    from inventory.engine.chunks.prune import prune_chunks

    try:
        return prune_chunks(vault=open_vault(vault), keyring=keyring())
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc
