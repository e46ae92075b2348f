"""Key ring: named 256-bit master keys, their key file, and the keys derived from them.

Master keys never leave the ring; what they seal is derived from them (HKDF-SHA256):
format-1 objects (:mod:`inventory.engine.format1.sealed`), chunk-store chunks and ids
(:mod:`inventory.engine.chunks.codec`), and the MAC keys of manifests and chunk indexes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from inventory.engine.errors import KeyMissing, KeyRingInvalid

KEY_BYTES = 32
KEY_FILE_NAME = "vault-keys"
DEFAULT_KEYS_ENV = "VAULT_KEYS"

_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MANIFEST_INFO = b"dr-portal manifest mac v1|"


def valid_key_id(key_id: str) -> bool:
    return bool(_KEY_ID.match(key_id))


class KeyRing:
    """Named 256-bit master keys. Only key ids ever leave it; ``repr`` shows ids only.

    Text form, used by the environment variable and the key file alike: entries
    ``id:base64`` separated by commas or newlines; blank lines and ``#`` comments are
    ignored.
    """

    def __init__(self, keys: Mapping[str, bytes], *, origin: str = "the given keys") -> None:
        for key_id, key in keys.items():
            if not valid_key_id(key_id):
                raise KeyRingInvalid(f"Key id {key_id!r} in {origin} is not valid: use 1-64 letters, digits, . _ -")
            if len(key) != KEY_BYTES:
                raise KeyRingInvalid(f"Key {key_id!r} in {origin} is {len(key)} bytes long; it must be 32 (256 bits).")
        self._keys = dict(keys)
        self.origin = origin

    @classmethod
    def parse(cls, text: str, *, origin: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        for raw in re.split(r"[,\n]", text):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                raise KeyRingInvalid(f"An entry in {origin} is not of the form id:base64.")
            key_id = key_id.strip()
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise KeyRingInvalid(f"Key {key_id!r} in {origin} is not valid base64.") from None
            if key_id in keys:
                raise KeyRingInvalid(f"Key id {key_id!r} appears twice in {origin}.")
            keys[key_id] = key
        return cls(keys, origin=origin)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, var: str = DEFAULT_KEYS_ENV) -> KeyRing:
        env = os.environ if environ is None else environ
        return cls.parse(env.get(var, ""), origin=f"the {var} environment variable")

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise KeyRingInvalid(f"The key file {path.name!r} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyRingInvalid(f"The key file {path.name!r} cannot be read: {exc}") from None
        return cls.parse(text, origin=f"the key file {path.name!r}")

    @classmethod
    def load(cls, *, env_value: str | None = None, key_file: Path | None = None) -> KeyRing:
        """Merge keys from an environment value and a key file; the environment wins on a clash."""
        keys: dict[str, bytes] = {}
        origins: list[str] = []
        if key_file is not None and key_file.exists():
            ring = cls.from_file(key_file)
            keys.update(ring._keys)
            origins.append(ring.origin)
        if env_value:
            ring = cls.parse(env_value, origin=f"the {DEFAULT_KEYS_ENV} environment variable")
            keys.update(ring._keys)
            origins.append(ring.origin)
        return cls(keys, origin=" and ".join(origins) or "an empty key ring")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(ids={list(self.ids)!r})"

    def key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            known = ", ".join(self.ids) or "none"
            raise KeyMissing(
                f"Encryption key {key_id!r} is not available (keys loaded from {self.origin}: {known}). "
                f"Add it to {DEFAULT_KEYS_ENV} or the key file."
            ) from None

    def manifest_mac_key(self, key_id: str) -> bytes:
        """The key manifests (and chunk indexes) of ``key_id`` are authenticated with."""
        return derive_key(self.key(key_id), salt=b"", info=_MANIFEST_INFO + key_id.encode("ascii"))

    def manifest_mac(self, key_id: str, data: bytes) -> str:
        """HMAC-SHA256 over a manifest's canonical bytes, under a key derived from ``key_id``."""
        return hmac.new(self.manifest_mac_key(key_id), data, hashlib.sha256).hexdigest()


def generate_key_file(directory: Path, *, key_id: str = "k1") -> Path:
    """Create ``directory/vault-keys`` with one random key, readable by the owner only.

    Meant for embedded mode. An existing file is left as it is (and must parse), so
    calling this on every start is safe and never replaces a key that sealed data.
    """
    if not valid_key_id(key_id):
        raise KeyRingInvalid(f"Key id {key_id!r} is not valid: use 1-64 letters, digits, . _ -")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE_NAME
    line = f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        KeyRing.from_file(path)
        return path
    try:
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def derive_key(master: bytes, *, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt or None, info=info).derive(master)


class Readable(Protocol):
    """A byte stream: what sources, vaults and sealed objects read from."""

    def read(self, size: int = -1, /) -> bytes: ...
