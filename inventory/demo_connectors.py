"""Real embedded systems for the demo estate, captured by their connectors (SQLite, LanceDB).

Everything is generated here, deterministically and offline: a feature-flag database and
a support-articles vector index with the tiny random-projection embedding model that
built it. Idempotent: what exists is kept.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

DIM = 32
VOCAB = 512


def _embedder(path: Path) -> Any:
    import numpy as np

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        matrix = np.random.default_rng(2026).standard_normal((VOCAB, DIM)).astype("float32")
        np.save(path, matrix)
    return np.load(path)


def embed(matrix: Any, text: str) -> list[float]:
    import numpy as np

    counts = np.zeros(VOCAB, dtype="float32")
    for word in text.lower().split():
        counts[int.from_bytes(hashlib.sha256(word.encode()).digest()[:2], "big") % VOCAB] += 1
    vector = counts @ matrix
    return [float(x) for x in vector / (np.linalg.norm(vector) or 1.0)]


def flags_database(path: Path) -> dict[str, Any]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = random.Random("flags")  # noqa: S311 - demo data
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE flag (name TEXT PRIMARY KEY, enabled INTEGER, rollout REAL, owner TEXT)")
            db.execute("CREATE TABLE route (model TEXT, region TEXT, weight INTEGER, PRIMARY KEY (model, region))")
            db.executemany(
                "INSERT INTO flag VALUES (?, ?, ?, ?)",
                [(f"flag-{i:04d}", rng.randint(0, 1), round(rng.random(), 3), "risk-platform") for i in range(1500)],
            )
            db.executemany(
                "INSERT INTO route VALUES (?, ?, ?)",
                [(m, r, rng.randint(0, 100)) for m in ("fraud-v7", "fraud-v8") for r in ("eu-west-1", "us-east-1")],
            )
    return {"path": str(path)}


def articles_index(root: Path) -> dict[str, Any]:
    import lancedb

    weights = root / "embedder" / "weights.npy"
    matrix = _embedder(weights)
    uri = root / "lance"
    db = lancedb.connect(str(uri))
    if "articles" not in db.list_tables().tables:
        topics = ["refund", "card", "login", "password", "delivery", "invoice", "fraud", "limit", "address", "pin"]
        rows = []
        for i in range(2000):
            text = f"how to {topics[i % 10]} {topics[(i * 7) % 10]} article {i}"
            rows.append(
                {
                    "id": f"kb-{i:05d}",
                    "vector": embed(matrix, text),
                    "document": text,
                    "metadata": f'{{"lang": "en", "topic": "{topics[i % 10]}"}}',
                }
            )
        db.create_table("articles", data=rows)
    return {
        "uri": str(uri),
        "model_name": "support-embedder-demo",
        "model_revision": "2026-11",
        "model_path": str(weights),
        "normalized": True,
        "dimension": DIM,
        "dataset_version": "kb-2026-11",
    }


def build(root: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{asset name: (connector kind, config)}`` for the demo assets backed by a real system."""
    return {
        "payments-gateway-config": ("sqlite", flags_database(root / "payments-gateway-config-db" / "flags.sqlite3")),
        "support-embeddings-index": ("vector", articles_index(root / "support-embeddings-index-lance")),
    }
