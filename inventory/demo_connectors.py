"""Real embedded systems for the demo estate, captured by their connectors (SQLite, LanceDB).

Everything is generated here, deterministically and offline: a feature-flag database, the
fraud model's feature store, and two vector indexes (support articles, confirmed fraud cases)
each with the tiny random-projection embedding model that built it. Idempotent: what exists
is kept.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

DIM = 32
VOCAB = 512


def _embedder(path: Path, seed: int = 2026) -> Any:
    import numpy as np

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        matrix = np.random.default_rng(seed).standard_normal((VOCAB, DIM)).astype("float32")
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


def _index(root: Path, table: str, rows: Any, identity: dict[str, Any], seed: int = 2026) -> dict[str, Any]:
    """A LanceDB index under ``root/lance`` with one table built by ``rows(matrix)``, and its model's identity."""
    import lancedb

    weights = root / "embedder" / "weights.npy"
    matrix = _embedder(weights, seed)
    uri = root / "lance"
    db = lancedb.connect(str(uri))
    if table not in db.list_tables().tables:
        db.create_table(table, data=rows(matrix))
    return {"uri": str(uri), "model_path": str(weights), "normalized": True, "dimension": DIM, **identity}


def articles_index(root: Path) -> dict[str, Any]:
    topics = ["refund", "card", "login", "password", "delivery", "invoice", "fraud", "limit", "address", "pin"]

    def rows(matrix: Any) -> list[dict[str, Any]]:
        out = []
        for i in range(2000):
            text = f"how to {topics[i % 10]} {topics[(i * 7) % 10]} article {i}"
            meta = f'{{"lang": "en", "topic": "{topics[i % 10]}"}}'
            out.append({"id": f"kb-{i:05d}", "vector": embed(matrix, text), "document": text, "metadata": meta})
        return out

    identity = {"model_name": "support-embedder-demo", "model_revision": "2026-11", "dataset_version": "kb-2026-11"}
    return _index(root, "articles", rows, identity)


def fraud_cases_index(root: Path) -> dict[str, Any]:
    """Confirmed fraud cases embedded for "similar past cases", bound to the fraud embedder's identity."""
    patterns = ["card-testing", "account-takeover", "friendly-fraud", "skimming", "bust-out", "refund-abuse"]
    channels = ["ecommerce", "pos", "atm", "wallet", "moto"]

    def rows(matrix: Any) -> list[dict[str, Any]]:
        out = []
        for i in range(1200):
            text = f"{patterns[i % 6]} via {channels[(i * 5) % 5]} merchant {i % 97} amount band {i % 11}"
            meta = f'{{"pattern": "{patterns[i % 6]}", "confirmed": true}}'
            out.append({"id": f"case-{i:05d}", "vector": embed(matrix, text), "document": text, "metadata": meta})
        return out

    identity = {
        "model_name": "fraud-case-embedder-demo",
        "model_revision": "2026-11",
        "dataset_version": "fraud-cases-2026-11",
    }
    return _index(root, "cases", rows, identity, seed=7)


def fraud_features_database(path: Path) -> dict[str, Any]:
    """The fraud model's offline feature store on the embedded defaults (a SQLite database)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = random.Random("fraud-features")  # noqa: S311 - demo data
        part = path.with_suffix(".part")
        part.unlink(missing_ok=True)
        with sqlite3.connect(part) as db:
            db.execute(
                "CREATE TABLE card_features (card_id TEXT PRIMARY KEY, txn_count_1h INTEGER, "
                "amount_avg_7d REAL, distinct_merchants_24h INTEGER, country_risk REAL)"
            )
            db.execute("CREATE TABLE merchant_risk (merchant_id TEXT PRIMARY KEY, chargeback_rate REAL, mcc TEXT)")
            db.executemany(
                "INSERT INTO card_features VALUES (?, ?, ?, ?, ?)",
                [
                    (f"card-{i:06d}", rng.randint(0, 12), round(rng.uniform(5, 400), 2), rng.randint(1, 9),
                     round(rng.random(), 3))
                    for i in range(5000)
                ],
            )  # fmt: skip
            db.executemany(
                "INSERT INTO merchant_risk VALUES (?, ?, ?)",
                [(f"m-{i:04d}", round(rng.random() / 20, 4), str(5000 + i % 900)) for i in range(400)],
            )
        db.close()
        part.replace(path)
    return {"path": str(path)}


def build(root: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{asset name: (connector kind, config)}`` for the demo assets backed by a real system."""
    return {
        "payments-gateway-config": ("sqlite", flags_database(root / "payments-gateway-config-db" / "flags.sqlite3")),
        "support-embeddings-index": ("vector", articles_index(root / "support-embeddings-index-lance")),
        "fraud-features-db": ("sqlite", fraud_features_database(root / "fraud-features-db" / "features.sqlite3")),
        "fraud-case-index": ("vector", fraud_cases_index(root / "fraud-case-index-lance")),
    }
