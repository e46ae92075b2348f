"""Backups through the engine: the asset's source (or its connector's capture) into the chunk store."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from inventory import connectors, engine
from inventory.engine.chunks.stats import compare_listings
from inventory.models import URI_CONNECTORS, Asset, Vault
from inventory.paths import source_root_refusal
from inventory.vault_io.common import (
    BackupResult,
    BackupStopped,
    ProgressFn,
    VaultIOFailure,
    keyring,
    open_vault,
    point_prefix,
    s3_config,
)
from inventory.vault_io.live_sqlite import consistent_source

logger = logging.getLogger(__name__)


def _backup_source(
    asset: Asset, stack: contextlib.ExitStack
) -> tuple[engine.Source, datetime | None, dict[str, Any] | None]:
    """What the engine streams for this asset, the data's time if the connector knows it, and its capture."""
    from inventory.connector_io import asset_connector

    kind, config = asset.source_connector()
    if kind in URI_CONNECTORS:
        refused = source_root_refusal(asset.source_uri)
        if refused:
            raise VaultIOFailure("source_not_allowed", f"{asset.name}: {refused} (SOURCE_ROOTS)")
        s3 = _source_s3(config) if kind == "s3" else None
        return consistent_source(engine.source_from_uri(asset.source_uri, s3=s3), stack), None, None
    # An application-consistent capture: the connector writes a staging copy and says what
    # it holds; the capture travels with the point (a consistency group: all its members).
    staging = stack.enter_context(connectors.staging_dir())
    try:
        snap = asset_connector(asset).snapshot(staging)
    except (connectors.ConnectorError, DatabaseError):
        raise  # a connector's own failure says what is wrong; the portal's database may come back
    except Exception as exc:
        # Anything else (an OverflowError from a port stored before ports were checked, a
        # library's ValueError) would crash the task and leave the backup "running" until
        # the reconciler gives up on it: fail it now, saying what happened, with no retry.
        logger.exception("The %s connector of %s stopped on an unexpected error", kind, asset.name)
        raise VaultIOFailure(
            "connector_crashed",
            f"{asset.name}: the {kind} connector stopped on an unexpected error "
            f"({type(exc).__name__}: {str(exc)[:200]}); check the asset's connector configuration.",
        ) from exc
    return snap.source, snap.capture.data_as_of, {"capture": snap.capture.to_json()}


def _source_s3(config: dict[str, Any]) -> engine.S3Config:
    """How to reach an S3 source: its own endpoint and credential references, else the portal's defaults."""
    from inventory.connectors.s3 import S3PrefixConfig

    cfg = connectors.parse_config(S3PrefixConfig, config, kind="s3")
    if cfg.endpoint_url:
        return cfg.s3()  # an endpoint named by the asset passes the connector address rule first
    return dataclasses.replace(
        s3_config(region=cfg.region or None),
        access_key_id=cfg.access_key_id.resolve() if cfg.access_key_id else None,
        secret_access_key=cfg.secret_access_key.resolve() if cfg.secret_access_key else None,
    )


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
        chain_started = _chain_started(previous_stats, now=now, days=full_chain_days(asset))
        chunked = engine.backup_chunked(
            **common,
            average_chunk=settings.BACKUP_CHUNK_KIB * 1024,
            fresh_chain=chain_started is None,
            parent=str(previous["point"]) if previous and previous.get("version") == 2 else None,
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


def full_chain_days(asset: Asset) -> int:
    """How often the asset starts a fresh chain: its policy's choice, else `BACKUP_FULL_CHAIN_DAYS` (0: never)."""
    policy = asset.policy
    if policy is not None and policy.full_chain_days is not None:
        return int(policy.full_chain_days)
    return int(settings.BACKUP_FULL_CHAIN_DAYS)


def _chain_started(previous_stats: dict[str, Any] | None, *, now: datetime, days: int) -> datetime | None:
    """When the asset's current chain began, or None when this backup must start a fresh one."""
    if not previous_stats or not previous_stats.get("chain_started"):
        return None
    try:
        began = datetime.fromisoformat(str(previous_stats["chain_started"]))
    except ValueError:
        return None
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
        "files_unread": totals.files_unread,
        "compression_ratio": totals.compression_ratio,
        "manifest_parts": totals.manifest_parts,
        "manifest_parts_new": totals.manifest_new_parts,
        "bytes_manifest_stored": totals.manifest_stored_new_bytes,
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
