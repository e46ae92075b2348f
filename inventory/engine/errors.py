"""Typed failures of the backup/restore engine, each with a message a person can act on."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every failure the engine raises on purpose.

    ``str(error)`` is written for the person reading the asset page or the run log, so
    callers can show it as is. ``code`` is a short stable identifier for programs.
    """

    code = "engine_error"


class SourceMissing(EngineError):
    code = "source_missing"


class SourceUnreadable(EngineError):
    code = "source_unreadable"


class KeyMissing(EngineError):
    code = "key_missing"


class KeyRingInvalid(EngineError):
    code = "keyring_invalid"


class VaultError(EngineError):
    code = "vault_error"


class VaultFull(VaultError):
    code = "vault_full"


class VaultReadOnly(VaultError):
    code = "vault_read_only"


class VaultUnavailable(VaultError):
    code = "vault_unavailable"


class ObjectExists(VaultError):
    code = "object_exists"


class ObjectLocked(VaultError):
    """A write-once object may not be overwritten or deleted before its retain-until time."""

    code = "object_locked"


class ObjectMissing(VaultError):
    code = "object_missing"


class InvalidKey(VaultError):
    """An object key that is not a plain relative path of safe characters."""

    code = "invalid_key"


class IntegrityError(EngineError):
    """Stored or restored bytes are not the bytes that were backed up.

    ``path`` names the file (as in the manifest) when one is concerned; ``expected`` and
    ``actual`` carry the two SHA-256 digests when both are known.
    """

    code = "integrity_error"

    def __init__(
        self, message: str, *, path: str | None = None, expected: str | None = None, actual: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class CorruptObject(IntegrityError):
    """An encrypted object fails authentication: a flipped byte, a truncation, reordered chunks."""

    code = "corrupt_object"


class DataMissing(IntegrityError):
    """An object a complete point references is gone from the vault: the point is damaged."""

    code = "data_missing"


class HashMismatch(IntegrityError):
    code = "hash_mismatch"


class ManifestInvalid(IntegrityError):
    code = "manifest_invalid"


class TargetFull(EngineError):
    """The restore target has (or had) too little free space; final, never worth a retry by itself."""

    code = "target_full"

    def __init__(self, message: str, *, needed: int, free: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.free = free


class UnsafePath(EngineError):
    """A path from a manifest that would land outside the restore target."""

    code = "unsafe_path"


class Cancelled(EngineError):
    code = "cancelled"
