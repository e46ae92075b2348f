"""Back the portal itself up into a vault through the chunk store, and rebuild it from there."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dr_portal.audit import checkpoints
from dr_portal.audit.services import audit_append
from dr_portal.audit.verify import VerifyReport, verify_log
from dr_portal.errors import Refused
from inventory import engine
from inventory.engine.chunks import (
    ChunkedManifest,
    backup_chunked,
    manifest_v2_key,
    read_manifest_v2,
)
from inventory.engine.restore import restore_tree
from inventory.engine.vaults import parse_s3_uri
from inventory.models import Asset, AssetKind, PointStatus, RecoveryPoint, Vault, VaultKind
from inventory.portal import bundle
from inventory.portal.database import database_holds_data, load_database, snapshot_database
from inventory.services.catalog import asset_create, asset_update, policy_default_for_tier, vault_create
from inventory.services.readiness import readiness_facts_changed

POINTS_DIR = "portal"
BUNDLE_FORMAT = "dr-portal-self-backup"
SYSTEM_ACTOR = "system:portal_backup"


class PortalBackupRefused(Refused):
    code = "portal_backup_refused"


class PortalNotEmpty(Refused):
    code = "portal_not_empty"


@dataclass(frozen=True)
class PortalBackupResult:
    point: str
    vault_uri: str
    manifest: ChunkedManifest
    manifest_sha256: str
    head_seq: int
    engine: str


@dataclass
class PortalRestoreResult:
    point: str
    head_seq: int
    head_hash: str
    engine: str
    previous_backup: str | None
    checkpoints_installed: int
    checkpoints_differing: list[str] = field(default_factory=list)
    checkpoints_set_aside: int = 0
    keys_installed: list[str] = field(default_factory=list)
    keys_set_aside: list[str] = field(default_factory=list)
    verify: VerifyReport | None = None
    configured_key_matches: bool = True
    restored_event_seq: int | None = None


def open_portal_vault(uri: str | None = None) -> engine.Vault:
    uri = uri or settings.PORTAL_BACKUP_VAULT
    try:
        if not uri.startswith("s3://"):
            Path(uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return engine.vault_from_uri(uri, s3=engine.S3Config(endpoint_url=settings.S3_ENDPOINT_URL or None))
    except engine.EngineError as exc:
        raise PortalBackupRefused(f"The portal vault {uri} cannot be opened: {exc}") from exc


def portal_points(*, vault: engine.Vault) -> list[str]:
    """The portal's points in the vault, newest first (their names sort by time)."""
    names = {key.rsplit("/", 1)[0] for key in vault.list(f"{POINTS_DIR}/") if key.endswith("/manifest.v2")}
    return sorted(names, reverse=True)


def portal_backup(
    *,
    vault_uri: str | None = None,
    label: str = "scheduled",
    keyring: engine.KeyRing | None = None,
    record: bool = True,
) -> PortalBackupResult:
    """Copy database, configuration less secrets, checkpoints, public keys and the report keys the portal
    generated into the portal vault."""
    from inventory.vault_io import keyring as configured_keyring

    ring = keyring or configured_keyring()
    vault = open_portal_vault(vault_uri)
    now = timezone.now()
    # Seal the head first so the copy carries a checkpoint of (nearly) its own head.
    checkpoints.checkpoint_now()
    checkpoints.export_missing()
    point = f"{POINTS_DIR}/{now:%Y%m%dT%H%M%SZ}-{label}-{secrets.token_hex(3)}"
    days = settings.PORTAL_BACKUP_RETAIN_DAYS
    with tempfile.TemporaryDirectory(prefix="portal-backup-") as staging_name:
        staging = Path(staging_name)
        bundle.copy_checkpoints(directory=staging)
        snap = snapshot_database(directory=staging / "database")
        bundle.drop_checkpoints_after(directory=staging, head_seq=snap.head_seq)
        meta = bundle.write_extras(directory=staging, head_seq=snap.head_seq, created_at=now)
        meta.update(
            format=BUNDLE_FORMAT, version=1, engine=snap.engine, database=snap.file.name, head_hash=snap.head_hash
        )
        try:
            manifest = backup_chunked(
                source=staging,
                vault=vault,
                point_prefix=point,
                keyring=ring,
                key_id=settings.VAULT_KEY_ID,
                retain_until=now + timedelta(days=days) if days else None,
                data_as_of=now,
                extra={"portal": meta},
            )
        except engine.EngineError as exc:
            raise PortalBackupRefused(f"The portal backup could not be written: {exc}") from exc
    digest = hashlib.sha256()
    with vault.open(manifest_v2_key(point)) as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    result = PortalBackupResult(
        point=point,
        vault_uri=vault.uri,
        manifest=manifest,
        manifest_sha256=digest.hexdigest(),
        head_seq=snap.head_seq,
        engine=snap.engine,
    )
    if record:
        portal_point_record(result=result)
    return result


def _vault_row(uri: str) -> Vault:
    name = "dr-portal-self"
    found = Vault.objects.filter(name=name).first()
    if found is not None:
        return found
    if uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(uri)
        fields: dict[str, Any] = {"kind": VaultKind.S3, "config": {"bucket": bucket, "prefix": prefix}}
    else:
        fields = {"kind": VaultKind.FILESYSTEM, "config": {"path": uri.removeprefix("file://")}}
    fields.update(name=name, region=settings.PORTAL_ASSET_REGION, worm_capable=settings.PORTAL_BACKUP_RETAIN_DAYS > 0)
    return vault_create(by=None, fields=fields)


def portal_asset_ensure_recoverable(*, vault: Vault) -> Asset:
    """The tier-0 asset standing for the portal, with a policy and this vault so readiness can judge it."""
    asset = Asset.objects.filter(name=settings.PORTAL_ASSET_NAME).first()
    policy = policy_default_for_tier(tier=0)
    if asset is None:
        return asset_create(
            by=None,
            system_actor=SYSTEM_ACTOR,
            fields={
                "name": settings.PORTAL_ASSET_NAME,
                "title": "DR Portal (this application: web, workers, beat)",
                "kind": AssetKind.ENDPOINT,
                "owner_team": "platform",
                "tier": 0,
                "region": settings.PORTAL_ASSET_REGION,
                "source_uri": str(settings.VAR_DIR),
                "labels": dict(settings.ALERT_PLATFORM_LABELS),
                "policy": policy,
                "vault": vault,
            },
        )
    missing: dict[str, Any] = {}
    if asset.policy_id is None:
        missing["policy"] = policy
    if asset.vault_id is None:
        missing["vault"] = vault
    return asset_update(asset=asset, by=None, fields=missing) if missing else asset


@transaction.atomic
def portal_point_record(*, result: PortalBackupResult) -> RecoveryPoint:
    """File a portal backup as a recovery point of the portal asset (evidence for readiness)."""
    vault = _vault_row(result.vault_uri)
    asset = portal_asset_ensure_recoverable(vault=vault)
    manifest = result.manifest
    point = RecoveryPoint.objects.create(
        asset=asset,
        vault=vault,
        status=PointStatus.OK,
        data_as_of=manifest.data_as_of,
        size_bytes=manifest.total_bytes,
        file_count=manifest.total_files,
        manifest={**manifest.summary(), "portal_point": result.point},
        manifest_sha256=result.manifest_sha256,
        key_id=manifest.key_id,
        immutable_until=manifest.retain_until,
        verified_at=timezone.now(),
        note=f"Portal self-backup {result.point} ({result.engine}, audit head {result.head_seq}).",
    )
    readiness_facts_changed(asset_ids=[asset.pk])
    audit_append(
        action="portal.backed_up",
        system_actor=SYSTEM_ACTOR,
        obj=asset,
        payload={
            "point": result.point,
            "vault": result.vault_uri,
            "head_seq": result.head_seq,
            "bytes": manifest.total_bytes,
        },
    )
    return point


def _choose_point(vault: engine.Vault, point: str | None) -> str:
    if point:
        return point
    points = portal_points(vault=vault)
    if not points:
        raise PortalBackupRefused(f"The vault {vault.uri} holds no portal backup.")
    return points[0]


def portal_restore(
    *,
    vault_uri: str,
    keyring: engine.KeyRing,
    point: str | None = None,
    force: bool = False,
    keep_dir: Path | None = None,
) -> PortalRestoreResult:
    """Rebuild this portal's database and audit evidence from a portal backup.

    Refuses a database that holds data unless ``force``; then that database is backed
    up into the same vault first, and only a successful backup lets the restore go on.
    """
    vault = open_portal_vault(vault_uri)
    chosen = _choose_point(vault, point)
    try:
        manifest = read_manifest_v2(vault=vault, point=chosen, keyring=keyring)
    except engine.EngineError as exc:
        raise PortalBackupRefused(f"The portal backup {chosen} cannot be read: {exc}") from exc
    meta = manifest.extra.get("portal") or {}
    if meta.get("format") != BUNDLE_FORMAT:
        raise PortalBackupRefused(f"{chosen} is not a portal backup.")
    previous = None
    if database_holds_data():
        if not force:
            raise PortalNotEmpty(
                "This portal's database already holds data; restoring would replace it. "
                "Use --force to back it up into the vault first and then replace it."
            )
        previous = portal_backup(vault_uri=vault_uri, label="before-restore", keyring=keyring, record=False).point
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as work_name:
        work = Path(work_name)
        try:
            restore_tree(vault=vault, manifest=manifest, target_dir=work, keyring=keyring, resume=False)
        except engine.EngineError as exc:
            raise PortalBackupRefused(f"The portal backup {chosen} failed verification: {exc}") from exc
        load_database(engine=str(meta["engine"]), file=work / "database" / str(meta["database"]))
        set_aside = 0
        if previous is not None:
            set_aside = bundle.set_aside_other_branch(folder_name=previous.rsplit("/", 1)[-1])
        installed, differing = bundle.install_checkpoints(directory=work)
        keys_installed, keys_aside = bundle.install_generated_keys(
            directory=work, folder_name=chosen.rsplit("/", 1)[-1]
        )
        backed_key = checkpoints.load_public_key_pem((work / bundle.AUDIT_PUBLIC_KEY).read_bytes())
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            for name in (bundle.CONFIG_FILE, bundle.AUDIT_PUBLIC_KEY, bundle.REPORT_CERTIFICATE):
                if (work / name).exists():
                    (keep_dir / Path(name).name).write_bytes((work / name).read_bytes())
    result = PortalRestoreResult(
        point=chosen,
        head_seq=int(meta.get("head_seq", 0)),
        head_hash=str(meta.get("head_hash", "")),
        engine=str(meta["engine"]),
        previous_backup=previous,
        checkpoints_installed=installed,
        checkpoints_differing=differing,
        checkpoints_set_aside=set_aside,
        keys_installed=keys_installed,
        keys_set_aside=keys_aside,
    )
    result.configured_key_matches = checkpoints.key_id(backed_key) == _configured_key_id()
    result.verify = verify_log(key=backed_key)
    if result.verify.ok:
        event = audit_append(
            action="portal.restored",
            system_actor="system:portal_restore",
            payload={
                "point": chosen,
                "head_seq": result.head_seq,
                "previous_backup": previous,
                "checkpoints_set_aside": set_aside,
            },
        )
        result.restored_event_seq = event.seq
    return result


def _configured_key_id() -> str | None:
    try:
        return checkpoints.key_id()
    except Exception:  # no usable signing key configured yet
        return None


def portal_backup_due(*, now: datetime | None = None) -> bool:
    """True when the newest recorded portal backup is older than PORTAL_BACKUP_SECONDS."""
    now = now or timezone.now()
    newest = (
        RecoveryPoint.objects.filter(asset__name=settings.PORTAL_ASSET_NAME, status=PointStatus.OK)
        .order_by("-data_as_of")
        .values_list("data_as_of", flat=True)
        .first()
    )
    return newest is None or now - newest >= timedelta(seconds=settings.PORTAL_BACKUP_SECONDS) * 0.9
