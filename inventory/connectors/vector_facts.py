"""What a vector table's capture records, and how a restored table is measured against it.

Two methods, named in each table's facts (``method``), so a capture is always checked the
way it was taken:

``stride`` (current)
    Reads the id column only and sorts it inside Arrow. The sample is every k-th id in
    sorted order (every row of a small table; about ``SAMPLE_TARGET`` rows of a big one),
    fetched by row id; each sampled row is hashed with its vector as raw floats. The
    golden queries are the first of that sample by id hash, run as one batch search.
``hash`` (captures taken before it; no ``method`` key)
    Reads the whole table into Python and samples the rows whose id hashes to ``0…``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inventory.connectors.vector import VectorConfig

SAMPLE_ALL_BELOW = 1000
SAMPLE_TARGET = 4096
STRIDE = "stride"


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
    scan = table.search().select([cfg.id_column]).with_row_id(True).limit(None).to_arrow()
    column = scan.column(cfg.id_column)
    as_text = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
    order = pc.sort_indices(as_text)
    count = len(as_text)
    step = 1 if count <= SAMPLE_ALL_BELOW else max(1, count // SAMPLE_TARGET)
    # Row ids address rows within this table; the sample itself is chosen by id, so a copy picks the same rows.
    picked = pc.take(scan.column("_rowid"), order)[::step].to_pylist()
    sample = table.take_row_ids(picked).to_arrow() if picked else scan.slice(0, 0).drop_columns(["_rowid"])
    digests, vectors = _sample_digests(sample, cfg)
    dimension = table.schema.field(cfg.vector_column).type.list_size if count else 0
    if golden is None:
        keys = [str(x) for x in sample.column(cfg.id_column).to_pylist()]
        chosen = sorted(range(len(keys)), key=lambda i: _id_hash(keys[i]))[: cfg.golden_queries]
        golden = [{"id": keys[i], "vector": vectors(i)} for i in chosen]
    for query, hits in zip(golden, top_k(table, cfg, [q["vector"] for q in golden]), strict=True):
        query["top_k"] = hits
    return {
        "method": STRIDE,
        "rows": rows,
        "dimension": dimension,
        "ids_checksum": joined_ids_sha256(pc.take(as_text, order)),
        "sample_checksum": hashlib.sha256("".join(sorted(digests)).encode()).hexdigest(),
        "sampled": len(digests),
        "golden": golden,
    }


def joined_ids_sha256(ordered: Any) -> str:
    """SHA-256 of the ids joined by newlines, as ``"\\n".join(str(id) for id in ordered)`` gives them.

    Joined inside Arrow: a million ids never become Python strings (about 7 times faster).
    A null id counts as ``None``, as ``str(None)`` made it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(ordered):
        return hashlib.sha256(b"").hexdigest()
    if ordered.null_count:
        ordered = pc.fill_null(ordered, "None")
    values = pc.cast(ordered, pa.large_string())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    one_list = pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values)
    joined = pc.binary_join(one_list, pa.scalar("\n", pa.large_string()))[0]
    return hashlib.sha256(memoryview(joined.as_buffer())).hexdigest()


def _sample_digests(sample: Any, cfg: VectorConfig) -> tuple[list[str], Callable[[int], list[float]]]:
    """One digest per row: its other columns' values by name, then its vector's raw float bytes.

    Hashing the vector as bytes (not as text) keeps this cheap at hundreds of dimensions.
    Also returns how to read row ``i``'s vector as floats.
    """
    import numpy as np
    import pyarrow as pa

    names = sorted(n for n in sample.column_names if n != cfg.vector_column)
    values = {name: sample.column(name).to_pylist() for name in names}
    column = sample.column(cfg.vector_column)
    if pa.types.is_fixed_size_list(column.type) and sample.num_rows:
        flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        matrix = np.ascontiguousarray(flat.reshape(sample.num_rows, column.type.list_size))
        raw = [matrix[i].tobytes() for i in range(sample.num_rows)]

        def vector(i: int) -> list[float]:
            return [float(x) for x in matrix[i]]
    else:
        listed = column.to_pylist()
        raw = [repr(v).encode() for v in listed]

        def vector(i: int) -> list[float]:
            return list(listed[i])

    digests = []
    for i in range(sample.num_rows):
        digest = hashlib.sha256(repr([(name, values[name][i]) for name in names]).encode())
        digest.update(raw[i])
        digests.append(digest.hexdigest())
    return digests, vector


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
