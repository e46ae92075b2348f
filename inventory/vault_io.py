"""The seam between inventory rows and the backup engine (`inventory.engine`).

Everything that touches vault bytes goes through here, so services deal in
rows and results, and the engine's typed errors (from backup, restore and verify) become one `VaultIOFailure`
with a stable code and a sentence for the asset page.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from inventory import connectors, engine
from inventory.engine.chunks.stats import compare_listings
from inventory.engine.target import iter_part_files
from inventory.models import URI_CONNECTORS, Asset, Vault, VaultKind


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


def _backup_source(
    asset: Asset, stack: contextlib.ExitStack
) -> tuple[engine.Source, datetime | None, dict[str, Any] | None]:
    """What the engine streams for this asset, the data's time if the connector knows it, and its capture."""
    kind, _ = asset.source_connector()
    if kind in URI_CONNECTORS:
        return engine.source_from_uri(asset.source_uri, s3=s3_config()), None, None
    # An application-consistent capture: the connector writes a staging copy and says what
    # it holds; the capture travels with the point.
    staging = stack.enter_context(connectors.staging_dir())
    from inventory.connector_io import asset_connector

    snap = asset_connector(asset).snapshot(staging)
    return snap.source, snap.capture.data_as_of, {"capture": snap.capture.to_json()}


def take_backup(
    *,
    asset: Asset,
    vault: Vault,
    point_id: uuid.UUID,
    worm_days: int,
    progress: ProgressFn,
    previous: dict[str, Any] | None = None,
    previous_stats: dict[str, Any] | None = None,
) -> BackupResult:
    """Stream the asset's source into the vault; returns only once the manifest has been read back.

    ``previous`` is the manifest (or summary) of the asset's last good point in the same
    vault: the new point's statistics count files added, changed and removed against it.
    """
    stop = False

    def on_progress(done: int, total: int) -> None:
        nonlocal stop
        if not progress(done, total):
            stop = True

    now = timezone.now()
    retain_until = now + timedelta(days=worm_days) if worm_days else None
    key_id = settings.VAULT_KEY_ID
    started = time.monotonic()
    staging = contextlib.ExitStack()
    try:
        source, data_as_of, extra = _backup_source(asset, staging)
        target = open_vault(vault)
        ring = keyring()
        common: dict[str, Any] = {
            "source": source,
            "data_as_of": data_as_of,
            "extra": extra,
            "vault": target,
            "point_prefix": point_prefix(asset.public_id, point_id),
            "keyring": ring,
            "key_id": key_id,
            "retain_until": retain_until,
            "progress": on_progress,
            "should_cancel": lambda: stop,
            "check_interval": settings.BACKUP_PROGRESS_SECONDS,
        }
        if settings.BACKUP_FORMAT == "files":
            manifest = engine.backup_tree(**common)
            stats: dict[str, Any] = {"format": 1, "duration_s": round(time.monotonic() - started, 3)}
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
                stats=stats,
            )
        chain_started = _chain_started(previous_stats, now=now)
        chunked = engine.backup_chunked(
            **common, average_chunk=settings.BACKUP_CHUNK_KIB * 1024, fresh_chain=chain_started is None
        )
        duration = time.monotonic() - started
        stats = point_statistics(chunked, previous=_listing(vault, previous, ring), duration=duration)
        stats["chain_started"] = (chain_started or now).isoformat()
        stats["fresh_chain"] = chain_started is None
        with target.open(chunked.manifest_key) as stream:
            digest = hashlib.sha256()
            while block := stream.read(1 << 20):
                digest.update(block)
    except engine.Cancelled:
        raise BackupStopped from None
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc
    except connectors.ConnectorError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc
    finally:
        staging.close()
    summary = chunked.summary()
    if extra:
        summary["extra"] = extra  # the connector's capture, for verify after a restore
    return BackupResult(
        point_id=point_id,
        data_as_of=chunked.data_as_of,
        size_bytes=chunked.total_bytes,
        file_count=chunked.total_files,
        manifest=summary,
        manifest_sha256=digest.hexdigest(),
        key_id=chunked.key_id,
        immutable_until=chunked.retain_until,
        verified_at=timezone.now(),
        stats=stats,
    )


def _chain_started(previous_stats: dict[str, Any] | None, *, now: datetime) -> datetime | None:
    """When the asset's current chain began, or None when this backup must start a fresh one."""
    if not previous_stats or not previous_stats.get("chain_started"):
        return None
    try:
        began = datetime.fromisoformat(str(previous_stats["chain_started"]))
    except ValueError:
        return None
    days = settings.BACKUP_FULL_CHAIN_DAYS
    if days and now - began >= timedelta(days=days):
        return None
    return began


def point_statistics(
    manifest: engine.ChunkedManifest, *, previous: Iterable[tuple[str, str]] | None, duration: float
) -> dict[str, Any]:
    """What a point cost and what changed: stored on the point, shown on the asset page and in the API."""
    totals = manifest.totals
    changes = compare_listings(previous, ((e.path, e.sha256) for e in manifest.files(keyring()))) if previous else None
    return {
        "format": 2,
        "files_added": changes.added if changes else totals.files,
        "files_changed": changes.changed if changes else 0,
        "files_removed": changes.removed if changes else 0,
        "files_unchanged": changes.unchanged if changes else 0,
        "compared_with_previous": previous is not None,
        "bytes_new": totals.new_bytes,
        "bytes_reused": totals.reused_bytes,
        "bytes_stored": totals.stored_new_bytes,
        "chunks": totals.chunks,
        "chunks_new": totals.new_chunks,
        "compression_ratio": totals.compression_ratio,
        "changed_share": round(changes.changed_share, 4) if changes else 0.0,
        **manifest.screening,
        "duration_s": round(duration, 3),
        "throughput_mib_s": round(totals.bytes / duration / 2**20, 1) if duration > 0 else None,
    }


def _listing(vault: Vault, previous: dict[str, Any] | None, ring: engine.KeyRing) -> Iterable[tuple[str, str]] | None:
    """(path, sha256) of a previous point in path order, streamed; None when there is none to compare."""
    if not previous:
        return None
    if previous.get("version") == 2:
        old = engine.read_manifest_v2(vault=open_vault(vault), point=str(previous["point"]), keyring=ring)
        return ((e.path, e.sha256) for e in old.files(ring))
    files = previous.get("files") or []
    return sorted((str(f["path"]), str(f["sha256"])) for f in files)


def delete_point(*, vault: Vault, asset_id: uuid.UUID, point_id: uuid.UUID, now: datetime) -> int:
    """Remove a point's objects; the engine refuses while any is still retained."""
    try:
        return engine.delete_point(vault=open_vault(vault), point_prefix=point_prefix(asset_id, point_id), now=now)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def verify_point(*, vault: Vault, manifest: dict[str, Any], decrypt: bool = False) -> engine.VerifyReport:
    """Check a point's objects where they are stored (size and stored SHA-256; with `decrypt`, the plaintext too).

    Problems with the point itself (a changed or missing object, an altered
    manifest) come back in the report. A vault that cannot be reached or a
    key that is not loaded raise `VaultIOFailure`: they say nothing about the
    point's bytes, so they must not be taken for corruption.
    """
    try:
        ring = keyring()
        if manifest.get("version") == 2:
            if str(manifest.get("key_id")) not in ring:
                raise VaultIOFailure(
                    "key_missing", f"Key {manifest.get('key_id')!r} is not loaded, so the point cannot be checked."
                )
            try:
                chunked = engine.read_manifest_v2(vault=open_vault(vault), point=str(manifest["point"]), keyring=ring)
            except engine.IntegrityError as exc:
                report = engine.VerifyReport()
                report.problems.append(engine.Problem(path=f"{manifest['point']}/manifest.v2", problem=str(exc)))
                return report
            return engine.verify_chunked(vault=open_vault(vault), manifest=chunked, keyring=ring, decrypt=decrypt)
        parsed = engine.Manifest.from_json(manifest)
        if parsed.key_id not in ring:
            raise VaultIOFailure(
                "key_missing", f"Key {parsed.key_id!r} is not loaded, so the point's manifest cannot be checked."
            )
        return engine.verify_point(vault=open_vault(vault), manifest=parsed, keyring=ring, decrypt=decrypt)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def _integrity_failure(exc: engine.IntegrityError) -> VaultIOFailure:
    return VaultIOFailure(
        exc.code,
        str(exc),
        evidence={"file": exc.path, "expected_sha256": exc.expected, "actual_sha256": exc.actual},
    )


def _manifest(manifest: dict[str, Any], vault: Vault | None = None) -> engine.Manifest | engine.ChunkedManifest:
    """The engine's manifest of a point: format 1 is in the row, format 2 is read from its vault."""
    try:
        if manifest.get("version") == 2:
            if vault is None:
                raise VaultIOFailure("vault_config", "A chunk-store point can only be read through its vault.")
            return engine.read_manifest_v2(vault=open_vault(vault), point=str(manifest["point"]), keyring=keyring())
        return engine.Manifest.from_json(manifest)
    except engine.IntegrityError as exc:
        raise VaultIOFailure(exc.code, f"The recovery point's manifest cannot be read: {exc}") from exc
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def restore_point(
    *,
    vault: Vault,
    manifest: dict[str, Any],
    target_dir: Path,
    progress: ProgressFn,
    max_bytes_per_second: int = 0,
) -> dict[str, Any]:
    """Restore a point into `target_dir` (verified file by file, resumable); returns evidence.

    Raises BackupStopped when `progress` says the work is no longer ours (a
    cancel, a skip, or another worker took over); the engine has then removed
    its staging files, so the target holds what it held before.
    """
    pacer = _Pacer(progress, every=settings.RUN_PROGRESS_SECONDS, max_bytes_per_second=max_bytes_per_second)
    parsed = _manifest(manifest, vault)
    try:
        if isinstance(parsed, engine.ChunkedManifest):
            result = engine.restore_chunked(
                vault=open_vault(vault),
                manifest=parsed,
                target_dir=target_dir,
                keyring=keyring(),
                progress=pacer,
                should_cancel=pacer.should_cancel,
                resume=True,
                check_interval=pacer.engine_interval,
            )
        else:
            result = engine.restore_tree(
                vault=open_vault(vault),
                manifest=parsed,
                target_dir=target_dir,
                keyring=keyring(),
                progress=pacer,
                should_cancel=pacer.should_cancel,
                resume=True,
                check_interval=pacer.engine_interval,
            )
    except engine.Cancelled:
        raise BackupStopped from None
    except engine.IntegrityError as exc:
        raise _integrity_failure(exc) from exc
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc
    except OSError as exc:
        raise VaultIOFailure("io_error", f"Writing the restore target failed: {exc}.") from exc
    return result.as_evidence()


def verify_restored(
    *, manifest: dict[str, Any], target_dir: Path, progress: ProgressFn, vault: Vault | None = None
) -> engine.VerifyReport:
    """Re-hash a restored tree against the point's manifest (a chunk-store point needs its vault)."""
    pacer = _Pacer(progress, every=settings.RUN_PROGRESS_SECONDS, max_bytes_per_second=0)
    parsed = _manifest(manifest, vault)
    try:
        return engine.verify_target(
            manifest=parsed,
            target_dir=target_dir,
            keyring=keyring() if isinstance(parsed, engine.ChunkedManifest) else None,
            progress=pacer,
            should_cancel=pacer.should_cancel,
            check_interval=pacer.engine_interval,
        )
    except engine.Cancelled:
        raise BackupStopped from None
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def cleanup_restored(*, manifest: dict[str, Any], target_dir: Path, vault: Vault | None = None) -> engine.CleanupResult:
    """Remove what a restore of the point put under a drill target, and the target if left empty."""
    parsed = _manifest(manifest, vault)
    try:
        ring = keyring() if isinstance(parsed, engine.ChunkedManifest) else None
        return engine.cleanup_target(target_dir=target_dir, manifest=parsed, keyring=ring)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def discard_parts(*, target_dir: Path) -> int:
    """Remove staging parts an interrupted restore left in a real target; finished files stay."""
    if not target_dir.is_dir():
        return 0
    removed = 0
    for part in list(iter_part_files(target_dir)):
        try:
            part.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
