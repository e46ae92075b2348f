"""What a vector table's capture records, and how a restored table is measured against it.

Two methods, named in each table's facts (``method``), so a capture is always checked the
way it was taken:

``stride`` (current)
    Reads the id column only and sorts it inside Arrow. The sample is every k-th id in
    sorted order (every row of a small table; about ``SAMPLE_TARGET`` rows of a big one),
    fetched with one filtered scan; the golden queries are the first of that sample by id
    hash, run as one batch search.
``hash`` (captures taken before it; no ``method`` key)
    Reads the whole table into Python and samples the rows whose id hashes to ``0…``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inventory.connectors.vector import VectorConfig

SAMPLE_ALL_BELOW = 1000
SAMPLE_TARGET = 4096
STRIDE = "stride"
FILTER_BATCH = 1000


def _row_digest(row: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()


def _id_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def measure(table: Any, cfg: VectorConfig, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts of ``table``: new ones (``expected`` None) or comparable with ``expected``'s."""
    golden = None if expected is None else [{"id": q["id"], "vector": q["vector"]} for q in expected["golden"]]
    if expected is not None and expected.get("method") != STRIDE:
        return hash_facts(table, cfg, golden)
    return stride_facts(table, cfg, golden)


def stride_facts(table: Any, cfg: VectorConfig, golden: list[dict[str, Any]] | None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.count_rows()
    column = table.search().select([cfg.id_column]).limit(None).to_arrow().column(cfg.id_column)
    as_text = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
    ordered = [str(x) for x in pc.take(as_text, pc.sort_indices(as_text)).to_pylist()]
    step = 1 if len(ordered) <= SAMPLE_ALL_BELOW else max(1, len(ordered) // SAMPLE_TARGET)
    picked = ordered[::step]
    sample = _fetch(table, cfg, picked, column.type, everything=step == 1)
    digests = sorted(_row_digest(row) for row in sample)
    dimension = table.schema.field(cfg.vector_column).type.list_size if ordered else 0
    if golden is None:
        by_id = {str(row[cfg.id_column]): row for row in sample}
        chosen = sorted(by_id, key=_id_hash)[: cfg.golden_queries]
        golden = [{"id": key, "vector": list(by_id[key][cfg.vector_column])} for key in chosen]
    for query, hits in zip(golden, top_k(table, cfg, [q["vector"] for q in golden]), strict=True):
        query["top_k"] = hits
    return {
        "method": STRIDE,
        "rows": rows,
        "dimension": dimension,
        "ids_checksum": hashlib.sha256("\n".join(ordered).encode()).hexdigest(),
        "sample_checksum": hashlib.sha256("".join(digests).encode()).hexdigest(),
        "sampled": len(digests),
        "golden": golden,
    }


def _fetch(table: Any, cfg: VectorConfig, ids: list[str], id_type: Any, *, everything: bool) -> list[dict[str, Any]]:
    """The rows holding ``ids``, read with filtered scans (or one plain scan for a small table)."""
    import pyarrow as pa

    if everything:
        found: list[dict[str, Any]] = table.search().limit(None).to_arrow().to_pylist()
        return found
    if pa.types.is_integer(id_type):
        literals = [str(int(x)) for x in ids]
    else:
        literals = ["'" + x.replace("'", "''") + "'" for x in ids]
    column = '"' + cfg.id_column.replace('"', '""') + '"'
    out: list[dict[str, Any]] = []
    for start in range(0, len(literals), FILTER_BATCH):
        where = f"{column} IN ({', '.join(literals[start : start + FILTER_BATCH])})"
        out.extend(table.search().where(where).limit(None).to_arrow().to_pylist())
    return out


def top_k(table: Any, cfg: VectorConfig, vectors: list[list[float]]) -> list[list[str]]:
    """The ids of each query's ``top_k`` nearest rows, the queries run as one batch."""
    if not vectors:
        return []
    if len(vectors) == 1:
        hits = table.search(vectors[0], vector_column_name=cfg.vector_column).limit(cfg.top_k).to_list()
        return [[str(hit[cfg.id_column]) for hit in hits]]
    found = table.search(vectors, vector_column_name=cfg.vector_column).limit(cfg.top_k).to_arrow()
    out: list[list[tuple[float, str]]] = [[] for _ in vectors]
    for index, key, distance in zip(
        found.column("query_index").to_pylist(),
        found.column(cfg.id_column).to_pylist(),
        found.column("_distance").to_pylist(),
        strict=True,
    ):
        out[index].append((distance, str(key)))
    return [[key for _, key in sorted(hits)] for hits in out]


def hash_facts(table: Any, cfg: VectorConfig, golden: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The method of captures taken before ``stride``: every row read, the sample chosen by id hash."""
    data = table.to_arrow()
    ids = [str(x) for x in data.column(cfg.id_column).to_pylist()]
    order = sorted(range(len(ids)), key=lambda i: _id_hash(ids[i]))
    picked = [i for i in order if len(ids) <= SAMPLE_ALL_BELOW or _id_hash(ids[i])[0] == "0"]
    rows = sorted((_row_digest(r) for r in data.take(picked).to_pylist()) if picked else [])
    dimension = data.schema.field(cfg.vector_column).type.list_size if len(ids) else 0
    if golden is None:
        vectors = data.take(order[: cfg.golden_queries]).column(cfg.vector_column).to_pylist() if ids else []
        golden = [{"id": ids[i], "vector": v} for i, v in zip(order[: cfg.golden_queries], vectors, strict=True)]
    for query in golden:
        hits = table.search(query["vector"], vector_column_name=cfg.vector_column).limit(cfg.top_k).to_list()
        query["top_k"] = [str(hit[cfg.id_column]) for hit in hits]
    return {
        "rows": len(ids),
        "dimension": dimension,
        "ids_checksum": hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest(),
        "sample_checksum": hashlib.sha256("".join(rows).encode()).hexdigest(),
        "golden": golden,
    }
