"""Signals a backup gathers for ransomware screening: entropy of new data, broken format signatures.

The engine only measures; the portal compares the figures with the asset's history and
decides (model weights are high-entropy by nature, so entropy alone never decides).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

ENTROPY_SAMPLE = 4096
HIGH_ENTROPY_BITS = 7.9  # bits per byte; compressed or encrypted data sits near 8
MAX_SAMPLES = 512
MAX_LISTED = 20


def entropy(data: bytes | memoryview) -> float:
    """Shannon entropy of ``data`` in bits per byte (0 for empty data)."""
    if not data:
        return 0.0
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    shares = counts[counts > 0] / len(data)
    return float(-(shares * np.log2(shares)).sum()) + 0.0  # never -0.0


def signature_problem(path: str, head: bytes | memoryview, size: int) -> str | None:
    """Why a file of a known format does not look like one (from its first chunk), or None."""
    name = path.lower()
    if name.endswith(".parquet"):
        if size >= 4 and bytes(head[:4]) != b"PAR1":
            return "a parquet file that no longer starts with PAR1"
    elif name.endswith(".safetensors"):
        if size < 8:
            return "a safetensors file too short for its header"
        (length,) = struct.unpack("<Q", bytes(head[:8]))
        if length > size - 8 or length > 100 * 1024 * 1024:
            return "a safetensors file whose header length is impossible"
        raw = bytes(head[8 : 8 + length])
        if len(raw) < length:
            return None  # header longer than the first chunk: not checked
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "a safetensors file whose header no longer parses"
        if not isinstance(parsed, dict):
            return "a safetensors file whose header is not a table"
    return None


@dataclass
class Screening:
    samples: int = 0
    high_entropy: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)
    broken_count: int = 0

    def sample(self, plain: bytes | memoryview) -> None:
        if self.samples >= MAX_SAMPLES:
            return
        self.samples += 1
        if entropy(plain[:ENTROPY_SAMPLE]) >= HIGH_ENTROPY_BITS:
            self.high_entropy += 1

    def check(self, path: str, head: bytes | memoryview, size: int) -> None:
        problem = signature_problem(path, head, size)
        if problem:
            self.broken_count += 1
            if len(self.broken) < MAX_LISTED:
                self.broken.append((path, problem))

    def to_json(self) -> dict[str, object]:
        return {
            "entropy_samples": self.samples,
            "high_entropy_samples": self.high_entropy,
            "signatures_broken": self.broken_count,
            "broken_files": [{"path": p, "problem": why} for p, why in self.broken],
        }
