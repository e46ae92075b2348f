"""Compressing and sealing one chunk: zstd only where a sample says it pays, each chunk compressed once."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from inventory.engine.chunks import ChunkKeys
from inventory.engine.chunks.codec import CODEC_RAW, CODEC_ZSTD, SAMPLE_BYTES
from inventory.engine.crypto import KeyRing


class CountingCompressor:
    """Wraps a zstd compressor and counts the bytes each call was given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def compress(self, data: Any) -> bytes:
        self.calls.append(len(data))
        return bytes(self.inner.compress(data))


def float_vectors(rows: int) -> bytes:
    vectors = np.random.default_rng(7).standard_normal((rows, 128)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.tobytes()


@pytest.fixture
def keys(keyring: KeyRing) -> ChunkKeys:
    return ChunkKeys(keyring, "k1", os.urandom(32))


def seal_counted(keys: ChunkKeys, plain: bytes) -> tuple[int, list[int], bytes]:
    counting = CountingCompressor(keys._compressor)
    keys._compressor = counting  # type: ignore[assignment]
    chunk_id = keys.chunk_id(plain)
    sealed = keys.seal(chunk_id, plain)
    assert keys.open(chunk_id, sealed.data, plain_size=len(plain)) == plain  # byte-identical back
    return sealed.codec, counting.calls, sealed.data


def test_a_chunk_no_longer_than_the_sample_is_compressed_once(keys: ChunkKeys) -> None:
    text = b"2026-12-01 INFO served request in 12 ms\n" * 1000  # 40 KB, under the 64 KiB sample
    codec, calls, sealed = seal_counted(keys, text)
    assert codec == CODEC_ZSTD and len(sealed) < len(text) // 10
    assert calls == [len(text)]  # the sample is the whole chunk: its frame is kept, not made twice


def test_a_large_compressible_chunk_is_sampled_then_stored_compressed(keys: ChunkKeys) -> None:
    rows = b"".join(os.urandom(512) + b"\0" * 512 for _ in range(1024))  # 1 MiB, half zeros
    codec, calls, sealed = seal_counted(keys, rows)
    assert codec == CODEC_ZSTD and len(sealed) < 0.6 * len(rows)
    assert calls == [SAMPLE_BYTES, len(rows)]


@pytest.mark.parametrize("kind", ["random", "float vectors"])
def test_incompressible_chunks_cost_one_small_sample_and_are_stored_raw(keys: ChunkKeys, kind: str) -> None:
    plain = os.urandom(1 << 20) if kind == "random" else float_vectors(2048)  # 1 MiB each
    codec, calls, sealed = seal_counted(keys, plain)
    assert codec == CODEC_RAW and len(plain) < len(sealed) < len(plain) + 64
    assert calls == [SAMPLE_BYTES]  # never the whole chunk
