"""vector connector on a real embedded LanceDB, with a tiny embedding model made here."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

lancedb = pytest.importorskip("lancedb")

from inventory.connectors import EmbeddingMismatch, RestoreFailed, TargetNotEmpty, Unreachable, get_connector  # noqa: E402
from tests.inventory.connectors.conftest import Engine  # noqa: E402

DIM = 16


def make_model(path: Path, seed: int) -> Path:
    """A random-projection 'embedding model': its weights are a matrix saved with numpy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.random.default_rng(seed).standard_normal((256, DIM)).astype("float32"))
    return path


def embed(weights: Path, text: str) -> list[float]:
    matrix = np.load(weights)
    counts = np.zeros(256, dtype="float32")
    for word in text.split():
        counts[hashlib.sha256(word.encode()).digest()[0]] += 1
    vector = counts @ matrix
    return (vector / (np.linalg.norm(vector) or 1)).tolist()


def make_rows(weights: Path, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"doc-{i}",
            "vector": embed(weights, f"policy {i % 37} clause {i % 11} card {i}"),
            "document": f"policy {i % 37} clause {i % 11} card {i}",
            "metadata": f'{{"source": "kb", "n": {i}}}',
        }
        for i in range(start, start + count)
    ]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "models" / "live" / "weights.npy", seed=1)


@pytest.fixture
def index(tmp_path: Path, model: Path) -> Path:
    uri = tmp_path / "lance"
    lancedb.connect(str(uri)).create_table("kb", data=make_rows(model, 0, 1500))
    return uri


def _cfg(uri: Path, model: Path, **extra: Any) -> dict[str, Any]:
    return {
        "uri": str(uri),
        "model_name": "tiny-proj",
        "model_revision": "r1",
        "model_path": str(model),
        "normalized": True,
        "dataset_version": "kb-2026-11",
        **extra,
    }


def test_vector_round_trip_with_golden_queries(engine: Engine, index: Path, model: Path, tmp_path: Path) -> None:
    conn = get_connector("vector", _cfg(index, model))
    capture, manifest = engine.backup(conn)
    kb = capture.details["tables"]["kb"]
    assert kb["rows"] == 1500 and kb["dimension"] == DIM and len(kb["golden"]) == 5
    assert (
        capture.details["model"]["weights_sha256"]
        == hashlib.sha256(f"weights.npy:{hashlib.sha256(model.read_bytes()).hexdigest()}\n".encode()).hexdigest()
    )
    assert capture.details["model"]["dimension"] == DIM and capture.details["dataset_version"] == "kb-2026-11"
    target = _cfg(tmp_path / "drill", model)
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    report = conn.verify(capture=capture, target=target)
    assert report.ok, report.summary()
    assert "5 golden queries, top-10 overlap mean 1.00, min 1.00" in report.notes[0]

    golden_hit = kb["golden"][0]["top_k"][1]
    lancedb.connect(str(tmp_path / "drill")).open_table("kb").delete(f"id = '{golden_hit}'")
    failed = {c.name for c in conn.verify(capture=capture, target=target).failures}
    assert {"kb rows", "kb ids checksum", "kb golden top-10 overlap at least 1"} <= failed
    conn.cleanup(target=target)
    assert not (tmp_path / "drill").exists()


def test_restore_refused_when_the_target_serves_another_model(
    engine: Engine, index: Path, model: Path, tmp_path: Path
) -> None:
    conn = get_connector("vector", _cfg(index, model))
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    drill_model = make_model(tmp_path / "models" / "drill" / "weights.npy", seed=2)
    target = _cfg(tmp_path / "drill", drill_model, model_revision="r2")
    with pytest.raises(EmbeddingMismatch, match=r"revision: index built with 'r1', target serves 'r2'.*weights_sha256"):
        conn.restore(restored=restored, capture=capture, target=target)
    assert not (tmp_path / "drill").exists()
    # The same run first restores the matching model, then the index is accepted.
    shutil.copyfile(model, drill_model)
    conn.restore(restored=restored, capture=capture, target={**target, "model_revision": "r1"})
    assert conn.verify(capture=capture, target={**target, "model_revision": "r1"}).ok


def test_snapshot_reads_one_pinned_version_while_rows_are_added(
    engine: Engine, index: Path, model: Path, tmp_path: Path
) -> None:
    stop = threading.Event()

    def writer() -> None:
        table = lancedb.connect(str(index)).open_table("kb")
        start = 10_000
        while not stop.is_set():
            table.add(make_rows(model, start, 20))
            start += 20

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        conn = get_connector("vector", _cfg(index, model))
        capture, manifest = engine.backup(conn)
    finally:
        stop.set()
        thread.join()
    kb = capture.details["tables"]["kb"]
    pinned = lancedb.connect(str(index)).open_table("kb")
    pinned.checkout(kb["version"])
    assert pinned.count_rows() == kb["rows"]
    target = _cfg(tmp_path / "drill", model)
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok


def test_non_empty_target_refused_and_failed_replace_keeps_old_rows(
    engine: Engine, index: Path, model: Path, tmp_path: Path
) -> None:
    conn = get_connector("vector", _cfg(index, model))
    capture, manifest = engine.backup(conn)
    restored = engine.restore_files(manifest)
    drill = tmp_path / "drill"
    lancedb.connect(str(drill)).create_table("kb", data=make_rows(model, 50_000, 30))
    target = _cfg(drill, model)
    with pytest.raises(TargetNotEmpty, match="already holds rows in kb"):
        conn.restore(restored=restored, capture=capture, target=target)
    capture.details["tables"]["kb"]["rows"] += 1
    with pytest.raises(RestoreFailed, match="kb rows"):
        conn.restore(restored=restored, capture=capture, target=target, replace=True)
    assert lancedb.connect(str(drill)).open_table("kb").count_rows() == 30
    capture.details["tables"]["kb"]["rows"] -= 1
    conn.restore(restored=restored, capture=capture, target=target, replace=True)
    assert conn.verify(capture=capture, target=target).ok


def test_wrong_dimension_and_missing_database(index: Path, model: Path, tmp_path: Path) -> None:
    with pytest.raises(EmbeddingMismatch, match="makes 32-d vectors"):
        get_connector("vector", _cfg(index, model, dimension=32)).snapshot(tmp_path)
    with pytest.raises(Unreachable, match="does not exist"):
        get_connector("vector", _cfg(tmp_path / "nowhere", model)).snapshot(tmp_path)


def test_big_table_samples_by_sorted_id_stride_and_catches_a_changed_sampled_row(
    engine: Engine, index: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inventory.connectors import vector_facts

    monkeypatch.setattr(vector_facts, "SAMPLE_TARGET", 100)
    conn = get_connector("vector", _cfg(index, model))
    capture, manifest = engine.backup(conn)
    kb = capture.details["tables"]["kb"]
    assert kb["method"] == "stride" and kb["sampled"] == len(range(0, 1500, 15))
    target = _cfg(tmp_path / "drill", model)
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    assert conn.verify(capture=capture, target=target).ok
    assert not (tmp_path / "drill" / ".drp-new").exists()
    sampled = sorted(f"doc-{i}" for i in range(1500))[15]  # the second id of the sorted stride
    lancedb.connect(str(tmp_path / "drill")).open_table("kb").update(
        where=f"id = '{sampled}'", values={"document": "x"}
    )
    assert [c.name for c in conn.verify(capture=capture, target=target).failures] == ["kb sample checksum"]


def test_a_point_taken_as_arrow_files_still_restores(
    engine: Engine, index: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points from before the files layout hold tables/<name>.arrow and hash-sampled facts."""
    import pyarrow as pa

    from inventory.connectors import Capture
    from inventory.connectors.base import Snapshot, utcnow
    from inventory.connectors.vector_facts import hash_facts

    conn = get_connector("vector", _cfg(index, model))
    table = lancedb.connect(str(index)).open_table("kb")
    assert not (engine.restore_files(engine.backup(conn)[1]) / "tables").exists()  # today's points hold files
    staging = tmp_path / "old-staging"
    (staging / "tables").mkdir(parents=True)
    data = table.to_arrow()
    with pa.OSFile(str(staging / "tables" / "kb.arrow"), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data)
    facts = {"kb": {"version": table.version, **hash_facts(table, conn.config, None)}}
    details = {"uri": str(index), "model": conn.config.model_identity(), "dataset_version": "", "tables": facts}
    old = Snapshot(conn.staged(staging), Capture("vector", utcnow(), details))
    monkeypatch.setattr(type(conn), "snapshot", lambda self, _staging: old)
    capture, manifest = engine.backup(conn)
    target = _cfg(tmp_path / "drill", model)
    conn.restore(restored=engine.restore_files(manifest), capture=capture, target=target)
    report = conn.verify(capture=capture, target=target)
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    "ids",
    [
        [["doc-2", "doc-10"], ["é-ß", "doc-1"]],  # two chunks, text beyond ASCII
        [["a", None], ["b"]],  # a null id counts as None, as str(None) made it
        [[]],
        [[7, 3, 11]],  # integer ids, cast to text first as the connector does
    ],
)
def test_the_ids_checksum_is_joined_in_arrow_as_python_joined_it(ids: list[list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from inventory.connectors.vector_facts import joined_ids_sha256

    column = pa.chunked_array(
        [pa.array(chunk, type=pa.int64() if ids == [[7, 3, 11]] else pa.string()) for chunk in ids]
    )
    as_text = pc.cast(column, pa.string())
    ordered = pc.take(as_text, pc.sort_indices(as_text))
    as_python = "\n".join(str(x) for x in ordered.to_pylist())  # how captures before it were checksummed
    assert joined_ids_sha256(ordered) == hashlib.sha256(as_python.encode()).hexdigest()
