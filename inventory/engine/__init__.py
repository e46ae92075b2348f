"""The backup and restore I/O engine: plain Python, no Django, no database.

Public interface (stable; the Django side calls only these names)::

    # keys
    KeyRing.from_env(environ=None, *, var="VAULT_KEYS") -> KeyRing
    KeyRing.from_file(path) -> KeyRing
    KeyRing.load(*, env_value=None, key_file=None) -> KeyRing      # both merged
    generate_key_file(directory, *, key_id="k1") -> Path             # embedded mode; idempotent

    # vaults and sources
    FilesystemVault(root, *, create=True, reserve_bytes=0)
    S3Vault(bucket, prefix="", *, config=S3Config(...))
    vault_from_uri(uri, *, s3=None, reserve_bytes=0) -> Vault        # path, file://, s3://
    source_from_uri(uri, *, s3=None) -> Source                       # path (dir or file), s3://

    # writing a point: the chunk store (manifest format 2, kept in the vault)
    backup_chunked(*, source, vault, point_prefix, keyring, key_id, retain_until,
                   progress=None, should_cancel=None, average_chunk=1 MiB, s3=None,
                   data_as_of=None, extra=None, check_interval=0.5, fresh_chain=False)
                   -> ChunkedManifest
    read_manifest_v2(*, vault, point, keyring) -> ChunkedManifest
    delete_point(*, vault, point_prefix, now=None) -> int            # after retention only

    # reading a point of either format (format 1: Manifest, from the first engine)
    restore_tree(*, vault, manifest, target_dir, keyring,
                 progress=None, should_cancel=None, resume=True,
                 check_interval=0.5) -> RestoreResult
    verify_point(*, vault, manifest, keyring=None, decrypt=False, ...) -> VerifyReport
    verify_target(*, manifest, target_dir, keyring=None, ...) -> VerifyReport
    cleanup_target(*, target_dir, manifest, keyring=None) -> CleanupResult

    # format 1, kept for old points (inventory.engine.format1)
    read_manifest(*, vault, point_prefix, keyring=None) -> Manifest
    point_is_complete(*, vault, point_prefix, keyring) -> bool
    backup_tree(...) -> Manifest          # BACKUP_FORMAT=files and tests of old points only
    Manifest.to_json() / Manifest.from_json(data)                    # kept in a JSONField

``progress(bytes_done, bytes_total)`` and ``should_cancel() -> bool`` are called at most
every ``check_interval`` seconds (default 0.5) plus once at the start and the end, so
they may write to or read from a database. Every failure is an :class:`EngineError`
subclass whose ``str()`` is meant for people and whose ``code`` is meant for programs.
See docs/backups.md for the formats and the guarantees.
"""

from __future__ import annotations

from inventory.engine.chunks import ChunkedManifest, backup_chunked, read_manifest_v2
from inventory.engine.chunks.prune import PruneReport, prune_chunks
from inventory.engine.cleanup import CleanupResult, cleanup_target
from inventory.engine.crypto import KeyRing, generate_key_file
from inventory.engine.errors import (
    Cancelled,
    CorruptObject,
    DataMissing,
    EngineError,
    HashMismatch,
    IntegrityError,
    InvalidKey,
    KeyMissing,
    KeyRingInvalid,
    ManifestInvalid,
    ObjectExists,
    ObjectLocked,
    ObjectMissing,
    SourceMissing,
    SourceUnreadable,
    TargetFull,
    UnsafePath,
    VaultError,
    VaultFull,
    VaultReadOnly,
    VaultUnavailable,
)
from inventory.engine.format1.read import point_is_complete, read_manifest
from inventory.engine.format1.sealed import DEFAULT_CHUNK_SIZE
from inventory.engine.format1.write import backup_tree
from inventory.engine.manifest import FileEntry, Manifest
from inventory.engine.points import delete_point
from inventory.engine.restore import RestoreResult, restore_tree, space_needed
from inventory.engine.sources import LocalSource, S3Source, Source, source_from_uri
from inventory.engine.vaults import FilesystemVault, ObjectInfo, S3Config, S3Vault, Vault, vault_from_uri
from inventory.engine.verify import Problem, VerifyReport, verify_point, verify_target

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Cancelled",
    "ChunkedManifest",
    "CleanupResult",
    "CorruptObject",
    "DataMissing",
    "EngineError",
    "FileEntry",
    "FilesystemVault",
    "HashMismatch",
    "IntegrityError",
    "InvalidKey",
    "KeyMissing",
    "KeyRing",
    "KeyRingInvalid",
    "LocalSource",
    "Manifest",
    "ManifestInvalid",
    "ObjectExists",
    "ObjectInfo",
    "ObjectLocked",
    "ObjectMissing",
    "Problem",
    "PruneReport",
    "RestoreResult",
    "S3Config",
    "S3Source",
    "S3Vault",
    "Source",
    "SourceMissing",
    "SourceUnreadable",
    "TargetFull",
    "UnsafePath",
    "Vault",
    "VaultError",
    "VaultFull",
    "VaultReadOnly",
    "VaultUnavailable",
    "VerifyReport",
    "backup_chunked",
    "backup_tree",
    "cleanup_target",
    "delete_point",
    "generate_key_file",
    "point_is_complete",
    "prune_chunks",
    "read_manifest",
    "read_manifest_v2",
    "restore_tree",
    "source_from_uri",
    "space_needed",
    "vault_from_uri",
    "verify_point",
    "verify_target",
]
