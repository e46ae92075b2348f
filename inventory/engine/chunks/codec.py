"""Chunk ids, compression and sealing for the chunk store.

A chunk's id is HMAC-SHA256 of its plaintext under the vault's *dedup key*; the chunk
is zstd-compressed when a sample says it pays, then sealed with AES-256-GCM under the
vault's *seal key*. Both keys are derived (HKDF-SHA256) from a master key of the key
ring and the vault's random salt, so two vaults sharing a master key still have
unrelated ids and ciphertexts, and an id says nothing about the content to whoever
lacks the key.

Sealed chunk layout (big-endian)::

    magic "DRPC" | version=1 (1) | key id length n (1) | key id (n) | codec (1) | nonce (12)
    ciphertext || tag (16)

The additional data of the AEAD is ``header || chunk id (32 bytes)``: a sealed chunk
moved under another id, from another vault, or with its codec byte edited fails
authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import threading
from dataclasses import dataclass

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inventory.engine.crypto import KeyRing, derive_key, valid_key_id
from inventory.engine.errors import CorruptObject

CHUNK_MAGIC = b"DRPC"
CHUNK_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
CODEC_RAW = 0
CODEC_ZSTD = 1
# Level 1, not zstd's default 3: on this store's 1 MiB chunks it runs 1.3 to 2.4 times as
# fast and, measured in docs/benchmarks.md ("Connectors"), stores SQLite pages and JSON
# lines smaller and source text or Markdown some 12 % larger. Any level decompresses the same.
ZSTD_LEVEL = 1
# Compress the whole chunk only when its first 64 KiB shrink by at least 10 % at the same
# level: model weights, parquet pages, float vectors and random bytes are left alone at
# the cost of one small sample. A chunk no longer than the sample keeps the sample's frame.
SAMPLE_BYTES = 64 * 1024
SAMPLE_RATIO = 0.9

_ID_INFO = b"dr-portal chunk id v1|"
_SEAL_INFO = b"dr-portal chunk seal v1|"


@dataclass(frozen=True)
class SealedChunk:
    data: bytes
    codec: int


class ChunkKeys:
    """The dedup and seal keys of one vault under one master key id."""

    def __init__(self, keyring: KeyRing, key_id: str, salt: bytes) -> None:
        if not valid_key_id(key_id):
            raise CorruptObject(f"Key id {key_id!r} is not valid.")
        master = keyring.key(key_id)
        kid = key_id.encode("ascii")
        self.key_id = key_id
        self._id_key = derive_key(master, salt=salt, info=_ID_INFO + kid)
        self._aead = AESGCM(derive_key(master, salt=salt, info=_SEAL_INFO + kid))
        self._prefix = CHUNK_MAGIC + struct.pack(">BB", CHUNK_VERSION, len(kid)) + kid
        # A zstd context is not to be shared between threads: the backup seals on several.
        self._local = threading.local()

    @property
    def _compressor(self) -> zstandard.ZstdCompressor:
        found: zstandard.ZstdCompressor | None = getattr(self._local, "compressor", None)
        if found is None:
            found = self._local.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        return found

    @_compressor.setter
    def _compressor(self, value: zstandard.ZstdCompressor) -> None:
        self._local.compressor = value  # this thread's (a test counts the calls)

    @property
    def _decompressor(self) -> zstandard.ZstdDecompressor:
        found: zstandard.ZstdDecompressor | None = getattr(self._local, "decompressor", None)
        if found is None:
            found = self._local.decompressor = zstandard.ZstdDecompressor()
        return found

    def chunk_id(self, plain: bytes | memoryview) -> str:
        return hmac.new(self._id_key, plain, hashlib.sha256).hexdigest()

    def _compress(self, plain: bytes | memoryview) -> tuple[bytes | memoryview, int]:
        if len(plain) < 128:
            return plain, CODEC_RAW
        sample = plain[:SAMPLE_BYTES]
        sampled = self._compressor.compress(sample)
        if len(sampled) > len(sample) * SAMPLE_RATIO:
            return plain, CODEC_RAW
        packed = sampled if len(sample) == len(plain) else self._compressor.compress(plain)
        if len(packed) >= len(plain):
            return plain, CODEC_RAW
        return packed, CODEC_ZSTD

    def seal(self, chunk_id: str, plain: bytes | memoryview) -> SealedChunk:
        payload, codec = self._compress(plain)
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = self._prefix + bytes((codec,)) + nonce
        sealed = self._aead.encrypt(nonce, payload, header + bytes.fromhex(chunk_id))
        return SealedChunk(data=header + sealed, codec=codec)

    def open(self, chunk_id: str, sealed: bytes, *, plain_size: int) -> bytes:
        """The plaintext of a sealed chunk, proven to be the chunk ``chunk_id`` of this vault."""
        fixed = len(self._prefix)
        if len(sealed) < fixed + 1 + NONCE_BYTES + TAG_BYTES or sealed[:4] != CHUNK_MAGIC:
            raise CorruptObject(f"chunk {chunk_id[:16]}… is truncated or not a sealed chunk")
        if sealed[:fixed] != self._prefix:
            raise CorruptObject(f"chunk {chunk_id[:16]}… was sealed with another key id or format")
        codec = sealed[fixed]
        header = sealed[: fixed + 1 + NONCE_BYTES]
        nonce = header[fixed + 1 :]
        try:
            payload = self._aead.decrypt(nonce, sealed[len(header) :], header + bytes.fromhex(chunk_id))
        except InvalidTag:
            raise CorruptObject(
                f"chunk {chunk_id[:16]}… failed authentication (damaged, truncated, from another vault, "
                "or sealed with another key)"
            ) from None
        if codec == CODEC_ZSTD:
            try:
                plain = self._decompressor.decompress(payload, max_output_size=plain_size)
            except zstandard.ZstdError as exc:
                raise CorruptObject(f"chunk {chunk_id[:16]}… does not decompress ({exc})") from None
        elif codec == CODEC_RAW:
            plain = payload
        else:
            raise CorruptObject(f"chunk {chunk_id[:16]}… names an unknown codec {codec}")
        if len(plain) != plain_size or not hmac.compare_digest(self.chunk_id(plain), chunk_id):
            raise CorruptObject(
                f"chunk {chunk_id[:16]}… does not hash to its id under this vault's dedup key "
                "(written by another vault or with another key)"
            )
        return plain
