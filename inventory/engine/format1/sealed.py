"""Format-1 sealed objects: one file (or a pack member) as chunked, streaming AES-256-GCM.

Points of the chunk store never use this; it writes and reads the objects of format-1
points (``<point>/objects/NNNNNNNN``), which old points keep.

Sealed object layout (format version 1), all integers big-endian::

    magic        4 bytes  b"DRPV"
    version      1 byte   1
    key id len   1 byte   n (1..64)
    key id       n bytes  ASCII, e.g. b"k1"
    chunk size   4 bytes  plaintext bytes per chunk (4 KiB .. 64 MiB)
    salt        16 bytes  random; the file key is HKDF-SHA256(master key, salt)
    nonce prefix 7 bytes  random
    then chunks: ciphertext || 16-byte GCM tag, one per plaintext chunk

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds
fewer (possibly zero), so a file whose size is a multiple of the chunk size ends with
an empty final chunk. Chunk ``i`` is sealed with nonce ``prefix || i (4 bytes) ||
final (1 byte)`` and with additional data ``header || i || final``. Hence a flipped
byte fails its tag, a swapped or reordered chunk fails (wrong index), a truncation at a
chunk boundary is caught (no final chunk), a truncation inside a chunk fails (a short
record is taken as final, but was sealed as not final), and bytes after the final chunk
are refused. Binding the header means the key id and chunk size cannot be altered either.
A fresh key per object (from the random salt) keeps nonce reuse out of reach however
many objects one master key seals.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inventory.engine.crypto import KeyRing, Readable, derive_key, valid_key_id
from inventory.engine.errors import CorruptObject, KeyMissing
from inventory.engine.in_order import InOrder

MAGIC = b"DRPV"
FORMAT_VERSION = 1
TAG_BYTES = 16
SALT_BYTES = 16
NONCE_PREFIX_BYTES = 7
DEFAULT_CHUNK_SIZE = 1024 * 1024
MIN_CHUNK_SIZE = 4 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MAX_CHUNKS = 2**32
_OBJECT_INFO = b"dr-portal vault object v1|"


def sealed_size(plain_size: int, *, key_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The exact size of the sealed form of ``plain_size`` bytes."""
    return _header_len(key_id) + plain_size + TAG_BYTES * (plain_size // chunk_size + 1)


def _header_len(key_id: str) -> int:
    return 4 + 1 + 1 + len(key_id) + 4 + SALT_BYTES + NONCE_PREFIX_BYTES


def _check_chunk_size(chunk_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes")


def _fill(src: Readable, buf: bytearray) -> int:
    """Read until ``buf`` is full or the stream ends; streams may return short reads."""
    view = memoryview(buf)
    readinto = getattr(src, "readinto", None)
    done = 0
    while done < len(buf):
        if readinto is not None:
            got = readinto(view[done:])
        else:
            data = src.read(len(buf) - done)
            got = len(data)
            view[done : done + got] = data
        if not got:
            break
        done += got
    return done


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, final)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, final)


@dataclass
class SealResult:
    """Filled in while a :class:`Sealer` is iterated; complete once it is exhausted."""

    plain_size: int = 0
    stored_size: int = 0
    sha256: str = ""
    stored_sha256: str = ""
    chunks: int = 0


class BackgroundHasher(InOrder):
    """Feeds SHA-256 objects on a second thread, strictly in the order given.

    Hashing a large buffer releases the GIL, so while this thread hashes sealed chunk
    *n*, the caller reads, hashes and encrypts chunk *n+1*.
    """

    def __init__(self, depth: int = 3) -> None:
        super().__init__("sealed-hasher", depth)

    def update(self, digest: Any, data: bytes) -> None:
        self.call(digest.update, data)

    def wait(self) -> None:
        self.drain()


class Sealer:
    """Iterate to get the sealed form of ``src``, one chunk at a time.

    The plaintext SHA-256 is computed on the way. ``on_chunk(n)`` is called after each
    chunk with its plaintext length; raising from it (for instance
    :class:`~inventory.engine.errors.Cancelled`) stops the stream.
    """

    def __init__(
        self,
        src: Readable,
        *,
        keyring: KeyRing,
        key_id: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_chunk: Callable[[int], None] | None = None,
        buffer: bytearray | None = None,
        background: BackgroundHasher | None = None,
    ) -> None:
        _check_chunk_size(chunk_size)
        self._background = background
        if buffer is not None and len(buffer) != chunk_size:
            raise ValueError("a reused buffer must be exactly one chunk long")
        self._buffer = buffer
        if not valid_key_id(key_id):
            raise KeyMissing(f"Key id {key_id!r} is not valid.")
        self._master = keyring.key(key_id)
        self._src = src
        self._key_id = key_id
        self._chunk_size = chunk_size
        self._on_chunk = on_chunk
        self.result = SealResult()

    def __iter__(self) -> Iterator[bytes]:
        salt = secrets.token_bytes(SALT_BYTES)
        prefix = secrets.token_bytes(NONCE_PREFIX_BYTES)
        kid = self._key_id.encode("ascii")
        header = MAGIC + struct.pack(">BB", FORMAT_VERSION, len(kid)) + kid
        header += struct.pack(">I", self._chunk_size) + salt + prefix
        aead = AESGCM(derive_key(self._master, salt=salt, info=_OBJECT_INFO + kid))
        digest = hashlib.sha256()
        stored_digest = hashlib.sha256(header)
        result = self.result
        result.stored_size = len(header)
        yield header
        # Reusing one buffer across files matters with thousands of small files: a fresh
        # chunk-sized buffer per file is a megabyte of zeroing each time.
        buf = self._buffer if self._buffer is not None else bytearray(self._chunk_size)
        view = memoryview(buf)
        index = 0
        # Only files of a full chunk or more hash their sealed bytes in the background:
        # for a small file the hand-over would cost more than the hashing.
        background: BackgroundHasher | None = None
        while True:
            got = _fill(self._src, buf)
            final = got < self._chunk_size
            if index == 0 and not final:
                background = self._background
            plain = view[:got]
            digest.update(plain)
            sealed = aead.encrypt(_nonce(prefix, index, final), plain, _aad(header, index, final))
            if background is not None:
                background.update(stored_digest, sealed)
            else:
                stored_digest.update(sealed)
            result.plain_size += got
            result.stored_size += len(sealed)
            result.chunks = index + 1
            yield sealed
            if self._on_chunk is not None:
                self._on_chunk(got)
            if final:
                break
            index += 1
            if index >= MAX_CHUNKS:
                raise ValueError("file too large for this chunk size")
        if background is not None:
            background.wait()
        result.sha256 = digest.hexdigest()
        result.stored_sha256 = stored_digest.hexdigest()


@dataclass(frozen=True)
class SealedHeader:
    key_id: str
    chunk_size: int
    length: int


def _read_header(src: Readable) -> tuple[bytes, SealedHeader, bytes, bytes]:
    fixed = src.read(6)
    if len(fixed) < 6 or fixed[:4] != MAGIC:
        raise CorruptObject("not a sealed vault object (bad or missing header)")
    version, kid_len = fixed[4], fixed[5]
    if version != FORMAT_VERSION:
        raise CorruptObject(f"unsupported sealed object version {version}")
    rest_len = kid_len + 4 + SALT_BYTES + NONCE_PREFIX_BYTES
    rest = _read_exact(src, rest_len)
    if len(rest) < rest_len:
        raise CorruptObject("truncated header")
    try:
        key_id = rest[:kid_len].decode("ascii")
    except UnicodeDecodeError:
        raise CorruptObject("header names an unreadable key id") from None
    (chunk_size,) = struct.unpack(">I", rest[kid_len : kid_len + 4])
    if not valid_key_id(key_id) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise CorruptObject("header is damaged (key id or chunk size out of range)")
    salt = rest[kid_len + 4 : kid_len + 4 + SALT_BYTES]
    prefix = rest[kid_len + 4 + SALT_BYTES :]
    header = fixed + rest
    return header, SealedHeader(key_id=key_id, chunk_size=chunk_size, length=len(header)), salt, prefix


def _read_exact(src: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    left = size
    while left > 0:
        data = src.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def read_header(src: Readable) -> SealedHeader:
    """Parse only the header of a sealed object (to learn its key id and chunk size)."""
    return _read_header(src)[1]


def open_sealed(src: Readable, *, keyring: KeyRing, buffer: bytearray | None = None) -> Iterator[bytes]:
    """Yield the plaintext of a sealed stream chunk by chunk, authenticating each one.

    Raises :class:`CorruptObject` on any damage (the chunk index is in the message) and
    :class:`KeyMissing` when the key the object names is not in the ring. ``buffer`` (one
    chunk plus a tag long) may be passed to reuse it across objects. Plaintext of a
    chunk is only yielded after its tag has been checked; the caller must still treat
    the whole stream as unproven until the generator finishes without raising.
    """
    header, info, salt, prefix = _read_header(src)
    kid = info.key_id.encode("ascii")
    aead = AESGCM(derive_key(keyring.key(info.key_id), salt=salt, info=_OBJECT_INFO + kid))
    record = info.chunk_size + TAG_BYTES
    buf = buffer if buffer is not None and len(buffer) == record else bytearray(record)
    view = memoryview(buf)
    index = 0
    while True:
        got = _fill(src, buf)
        if got == 0:
            raise CorruptObject(f"truncated: the stream ends after chunk {index - 1} without a final chunk")
        if got < TAG_BYTES:
            raise CorruptObject(f"truncated inside chunk {index}")
        final = got < record
        try:
            plain = aead.decrypt(_nonce(prefix, index, final), view[:got], _aad(header, index, final))
        except InvalidTag:
            raise CorruptObject(
                f"chunk {index} failed authentication (damaged, truncated, reordered or sealed with another key)"
            ) from None
        yield plain
        if final:
            if src.read(1):
                raise CorruptObject(f"unexpected bytes after the final chunk {index}")
            return
        index += 1
        if index >= MAX_CHUNKS:
            raise CorruptObject("too many chunks")
