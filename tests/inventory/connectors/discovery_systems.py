"""Real systems for the discovery tests: a LanceDB folder made here, and a logical db of a real Redis."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

# The shared Redis on loopback; db 6 is this suite's own (emptied before and after each test).
REDIS_URL = os.environ.get("DISCOVERY_REDIS_URL", "redis://127.0.0.1:6379/6")

KB_META = {
    "embedding_model": "minilm-support",
    "embedding_model_revision": "r3",
    "embedding_normalized": "true",
    "dataset_version": "kb-2026-11",
    "name": "support-kb-index",
    "title": "Support articles index\nrebuilt nightly",
    "tier": "1",
    "team": "support-ml",
}
FUNCTIONS = [
    {
        "name": "sentence-transformers",
        "model": {"name": "all-MiniLM-L6-v2", "device": "cpu", "normalize": True},
        "source_column": "text",
        "vector_column": "vector",
    }
]


def _table(rows: int, dim: int, *, meta: dict[str, str] | None = None, id_column: str = "id") -> Any:
    import pyarrow as pa

    vectors = np.random.default_rng(dim + rows).standard_normal((rows, dim)).astype("float32")
    table = pa.table(
        {
            id_column: [f"row-{i}" for i in range(rows)],
            "text": [f"text {i}" for i in range(rows)],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
        }
    )
    return table.replace_schema_metadata(meta) if meta else table


def make_lance(uri: Path) -> Path:
    """Four tables: one labelled with its model, one with LanceDB's embedding function, one bare, one without ids."""
    import lancedb

    db = lancedb.connect(str(uri))
    db.create_table("kb", data=_table(120, 16, meta=KB_META))
    db.create_table("cases", data=_table(40, 16, meta={"embedding_functions": json.dumps(FUNCTIONS)}))
    db.create_table("bare", data=_table(30, 8))
    db.create_table("noid", data=_table(5, 8, id_column="key"))
    return uri


def redis_config() -> dict[str, Any]:
    parts = urlsplit(REDIS_URL)
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 6379, "db": int(parts.path.strip("/") or 0)}


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """The real Redis's db 6, empty; emptied again afterwards."""
    import redis

    cfg = redis_config()
    client = redis.Redis(**cfg, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis answers at {REDIS_URL} (set DISCOVERY_REDIS_URL)")
    client.flushdb()
    yield client
    client.flushdb()


def fill_features(client: Any) -> None:
    """300 card hashes (100 expiring), 50 merchant strings, 20 churn sets and 2 keys with no prefix."""
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.hset(f"fraud:card:{i}", mapping={"spend_7d": i, "country": "FR"})
        if i < 100:
            pipe.expire(f"fraud:card:{i}", 3600)
    for i in range(50):
        pipe.set(f"fraud:merchant:{i}", str(i / 50))
    for i in range(20):
        pipe.sadd(f"churn:user:{i}", "a", "b")
    pipe.set("schema_version", "3")
    pipe.set("last_refresh", "2026-11-30")
    pipe.execute()
