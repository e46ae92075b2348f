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

    # points
    backup_tree(*, source, vault, point_prefix, keyring, key_id, retain_until,
                progress=None, should_cancel=None, chunk_size=1 MiB, s3=None,
                data_as_of=None, extra=None, check_interval=0.5,
                pack_below=1 MiB, pack_size=32 MiB) -> Manifest
    read_manifest(*, vault, point_prefix, keyring=None) -> Manifest
    point_is_complete(*, vault, point_prefix, keyring) -> bool
    delete_point(*, vault, point_prefix, now=None) -> int            # after retention only
    restore_tree(*, vault, manifest, target_dir, keyring,
                 progress=None, should_cancel=None, resume=True,
                 check_interval=0.5) -> RestoreResult
    verify_point(*, vault, manifest, keyring=None, decrypt=False, ...) -> VerifyReport
    verify_target(*, manifest, target_dir, ...) -> VerifyReport
    cleanup_target(*, target_dir, manifest) -> CleanupResult

    Manifest.to_json() / Manifest.from_json(data)                    # store it in a JSONField

    # the chunk store (manifest format 2, kept in the vault): see inventory.engine.chunks
    backup_chunked(...) -> ChunkedManifest; read_manifest_v2(*, vault, point, keyring)
    restore_chunked(...) -> RestoreResult; verify_chunked(...) -> VerifyReport

``progress(bytes_done, bytes_total)`` and ``should_cancel() -> bool`` are called at most
every ``check_interval`` seconds (default 0.5) plus once at the start and the end, so
they may write to or read from a database. Every failure is an :class:`EngineError`
subclass whose ``str()`` is meant for people and whose ``code`` is meant for programs.
See docs/backups.md for the formats and the guarantees.
"""

from __future__ import annotations

from inventory.engine.backup import backup_tree, delete_point, point_is_complete, read_manifest
from inventory.engine.chunks import (
    ChunkedManifest,
    backup_chunked,
    read_manifest_v2,
    restore_chunked,
    verify_chunked,
)
from inventory.engine.cleanup import CleanupResult, cleanup_target
from inventory.engine.crypto import DEFAULT_CHUNK_SIZE, KeyRing, generate_key_file
from inventory.engine.errors import (
    Cancelled,
    CorruptObject,
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
    UnsafePath,
    VaultError,
    VaultFull,
    VaultReadOnly,
    VaultUnavailable,
)
from inventory.engine.manifest import FileEntry, Manifest
from inventory.engine.restore import RestoreResult, restore_tree
from inventory.engine.sources import LocalSource, S3Source, Source, source_from_uri
from inventory.engine.vaults import FilesystemVault, ObjectInfo, S3Config, S3Vault, Vault, vault_from_uri
from inventory.engine.verify import Problem, VerifyReport, verify_point, verify_target

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Cancelled",
    "ChunkedManifest",
    "CleanupResult",
    "CorruptObject",
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
    "RestoreResult",
    "S3Config",
    "S3Source",
    "S3Vault",
    "Source",
    "SourceMissing",
    "SourceUnreadable",
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
    "read_manifest",
    "read_manifest_v2",
    "restore_chunked",
    "restore_tree",
    "source_from_uri",
    "vault_from_uri",
    "verify_chunked",
    "verify_point",
    "verify_target",
]
