"""The key ring and the sealed-object format: round trips and every kind of tampering."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import struct
import tracemalloc
from pathlib import Path

import pytest

from inventory.engine import CorruptObject, KeyMissing, KeyRing, KeyRingInvalid, generate_key_file
from inventory.engine.format1.sealed import TAG_BYTES, Sealer, open_sealed, read_header, sealed_size
from tests.inventory.engine.conftest import SMALL_CHUNK, make_keyring

HEADER_K1 = 4 + 1 + 1 + 2 + 4 + 16 + 7  # the header length for key id "k1"


def seal(data: bytes, keyring: KeyRing, *, key_id: str = "k1", chunk_size: int = SMALL_CHUNK) -> tuple[bytes, Sealer]:
    sealer = Sealer(io.BytesIO(data), keyring=keyring, key_id=key_id, chunk_size=chunk_size)
    return b"".join(sealer), sealer


def unseal(blob: bytes, keyring: KeyRing) -> bytes:
    return b"".join(open_sealed(io.BytesIO(blob), keyring=keyring))


def chunk_offset(index: int) -> int:
    return HEADER_K1 + index * (SMALL_CHUNK + TAG_BYTES)


# --- key ring ---------------------------------------------------------------------------------


def test_keyring_reads_comma_separated_env_value() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    env = {"VAULT_KEYS": f"k1:{base64.b64encode(k1).decode()}, k2:{base64.b64encode(k2).decode()}"}
    ring = KeyRing.from_env(env)
    assert ring.ids == ("k1", "k2")
    assert ring.key("k1") == k1
    assert ring.key("k2") == k2


def test_keyring_reads_key_file_with_comments(tmp_path: Path) -> None:
    key = os.urandom(32)
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-11\n\nold-2025:{base64.b64encode(key).decode()}\n")
    assert KeyRing.from_file(path).key("old-2025") == key


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("k1", "not of the form"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32"),
        (f"../k:{base64.b64encode(bytes(32)).decode()}", "not valid"),
        (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}", "twice"),
    ],
)
def test_keyring_rejects_malformed_entries_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(KeyRingInvalid, match=complaint):
        KeyRing.parse(text, origin="VAULT_KEYS")


def test_keyring_never_shows_key_material() -> None:
    key = os.urandom(32)
    ring = KeyRing({"k1": key})
    assert base64.b64encode(key).decode() not in repr(ring)
    assert "k1" in repr(ring)


def test_missing_key_names_the_id_and_what_is_loaded() -> None:
    with pytest.raises(KeyMissing, match=r"'k9' is not available .*k1"):
        make_keyring("k1").key("k9")


def test_generated_key_file_is_private_and_never_replaced(tmp_path: Path) -> None:
    path = generate_key_file(tmp_path / "keys")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = KeyRing.from_file(path)
    assert first.ids == ("k1",)
    assert generate_key_file(tmp_path / "keys") == path
    assert KeyRing.from_file(path).key("k1") == first.key("k1")


def test_load_merges_file_and_environment(tmp_path: Path) -> None:
    path = generate_key_file(tmp_path, key_id="embedded")
    extra = f"k2:{base64.b64encode(os.urandom(32)).decode()}"
    ring = KeyRing.load(env_value=extra, key_file=path)
    assert ring.ids == ("embedded", "k2")


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK, 3 * SMALL_CHUNK + 7],
)
def test_round_trip_and_size_formula(keyring: KeyRing, size: int) -> None:
    data = os.urandom(size)
    blob, sealer = seal(data, keyring)
    assert unseal(blob, keyring) == data
    assert len(blob) == sealed_size(size, key_id="k1", chunk_size=SMALL_CHUNK) == sealer.result.stored_size
    assert sealer.result.sha256 == hashlib.sha256(data).hexdigest()
    assert sealer.result.stored_sha256 == hashlib.sha256(blob).hexdigest()
    assert sealer.result.plain_size == size
    assert sealer.result.chunks == size // SMALL_CHUNK + 1


def test_same_plaintext_seals_differently_each_time(keyring: KeyRing) -> None:
    data = b"x" * 1000
    assert seal(data, keyring)[0] != seal(data, keyring)[0]


def test_header_names_key_and_chunk_size(keyring: KeyRing) -> None:
    blob, _ = seal(b"abc", keyring, key_id="k2")
    header = read_header(io.BytesIO(blob))
    assert (header.key_id, header.chunk_size) == ("k2", SMALL_CHUNK)


def test_short_reads_from_the_source_do_not_change_the_result(keyring: KeyRing) -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(min(len(buffer), 777))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = os.urandom(3 * SMALL_CHUNK + 10)
    sealer = Sealer(Trickle(data), keyring=keyring, key_id="k1", chunk_size=SMALL_CHUNK)
    blob = b"".join(sealer)
    assert unseal(blob, keyring) == data
    assert sealer.result.chunks == 4


def test_sealing_memory_stays_within_a_few_chunks(keyring: KeyRing) -> None:
    class Endless(io.RawIOBase):
        """64 MiB of zeros without ever holding them."""

        def __init__(self) -> None:
            self.left = 64 * 1024 * 1024

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            size = min(len(buffer), self.left)
            buffer[:size] = bytes(size)
            self.left -= size
            return size

    chunk = 1024 * 1024
    tracemalloc.start()
    try:
        total = sum(len(piece) for piece in Sealer(Endless(), keyring=keyring, key_id="k1", chunk_size=chunk))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == sealed_size(64 * 1024 * 1024, key_id="k1", chunk_size=chunk)
    assert peak < 6 * chunk, f"peak {peak} bytes while sealing 64 MiB"


# --- tampering --------------------------------------------------------------------------------


@pytest.fixture
def sealed(keyring: KeyRing) -> bytes:
    return seal(os.urandom(3 * SMALL_CHUNK + 100), keyring)[0]


@pytest.mark.parametrize(
    "offset",
    [
        0,  # magic
        6,  # key id
        9,  # chunk size
        20,  # salt
        HEADER_K1 - 1,  # nonce prefix
        HEADER_K1,  # first ciphertext byte
        chunk_offset(1) - 1,  # first chunk's tag
        chunk_offset(2) + 50,  # middle chunk
        -1,  # last byte of the final tag
    ],
)
def test_a_flipped_byte_anywhere_is_detected(keyring: KeyRing, sealed: bytes, offset: int) -> None:
    damaged = bytearray(sealed)
    damaged[offset] ^= 0x01
    with pytest.raises((CorruptObject, KeyMissing)):
        unseal(bytes(damaged), keyring)


def test_truncation_at_a_chunk_boundary_is_detected(keyring: KeyRing, sealed: bytes) -> None:
    with pytest.raises(CorruptObject, match="without a final chunk"):
        unseal(sealed[: chunk_offset(2)], keyring)


def test_truncation_inside_a_chunk_is_detected(keyring: KeyRing, sealed: bytes) -> None:
    with pytest.raises(CorruptObject, match="chunk 1 failed authentication"):
        unseal(sealed[: chunk_offset(1) + 500], keyring)


def test_dropping_the_empty_final_chunk_is_detected(keyring: KeyRing) -> None:
    blob, _ = seal(os.urandom(2 * SMALL_CHUNK), keyring)
    with pytest.raises(CorruptObject, match="without a final chunk"):
        unseal(blob[:-TAG_BYTES], keyring)


@pytest.mark.parametrize("extra", [1, TAG_BYTES, SMALL_CHUNK + TAG_BYTES])
def test_trailing_bytes_are_detected(keyring: KeyRing, sealed: bytes, extra: int) -> None:
    with pytest.raises(CorruptObject):
        unseal(sealed + os.urandom(extra), keyring)


def test_swapped_chunks_are_detected(keyring: KeyRing, sealed: bytes) -> None:
    size = SMALL_CHUNK + TAG_BYTES
    first, second = sealed[chunk_offset(0) : chunk_offset(1)], sealed[chunk_offset(1) : chunk_offset(2)]
    assert len(first) == len(second) == size
    swapped = sealed[:HEADER_K1] + second + first + sealed[chunk_offset(2) :]
    with pytest.raises(CorruptObject, match="chunk 0 failed authentication"):
        unseal(swapped, keyring)


def test_a_chunk_from_another_object_is_detected(keyring: KeyRing) -> None:
    data = os.urandom(2 * SMALL_CHUNK + 1)
    one, other = seal(data, keyring)[0], seal(data, keyring)[0]
    spliced = one[: chunk_offset(1)] + other[chunk_offset(1) :]
    with pytest.raises(CorruptObject):
        unseal(spliced, keyring)


def test_the_wrong_key_under_the_same_id_is_detected(sealed: bytes) -> None:
    with pytest.raises(CorruptObject, match="chunk 0 failed authentication"):
        unseal(sealed, make_keyring("k1"))


def test_an_unknown_key_id_is_reported_as_missing_key(sealed: bytes) -> None:
    with pytest.raises(KeyMissing, match="'k1'"):
        unseal(sealed, make_keyring("other"))


def test_a_header_claiming_another_chunk_size_is_detected(keyring: KeyRing, sealed: bytes) -> None:
    damaged = bytearray(sealed)
    damaged[8:12] = struct.pack(">I", 2 * SMALL_CHUNK)
    with pytest.raises(CorruptObject):
        unseal(bytes(damaged), keyring)


def test_not_a_sealed_object(keyring: KeyRing) -> None:
    with pytest.raises(CorruptObject, match="not a sealed vault object"):
        unseal(b"PK\x03\x04 a zip file", keyring)


def test_background_hashing_of_sealed_bytes_matches_inline_hashing(keyring: KeyRing) -> None:
    from inventory.engine.format1.sealed import BackgroundHasher

    data = os.urandom(5 * SMALL_CHUNK + 99)
    background = BackgroundHasher()
    try:
        sealer = Sealer(io.BytesIO(data), keyring=keyring, key_id="k1", chunk_size=SMALL_CHUNK, background=background)
        blob = b"".join(sealer)
        small = Sealer(io.BytesIO(b"tiny"), keyring=keyring, key_id="k1", chunk_size=SMALL_CHUNK, background=background)
        tiny = b"".join(small)
    finally:
        background.close()
    assert sealer.result.stored_sha256 == hashlib.sha256(blob).hexdigest()
    assert small.result.stored_sha256 == hashlib.sha256(tiny).hexdigest()
    assert unseal(blob, keyring) == data
