"""The backup's chunk pipeline (#14): compression and sealing on worker threads, results taken in cut order.

Workers are made to finish out of order (random delays around the real hashing and
sealing), to fail, or to stall, and each test checks what a reader of the vault sees:
chunks in the packs in the order they were cut, each new chunk sealed once, nothing
left behind by a failed or cancelled backup, and a bounded amount of data waiting.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import ChunkKeys, backup_chunked
from inventory.engine.chunks.pipeline import INLINE_BELOW, ChunkPipeline, Committed, PendingFile
from inventory.engine.chunks.store import INDEX_DIR, PACKS_DIR
from inventory.engine.errors import Cancelled
from inventory.engine.vaults import ObjectInfo

from .conftest import read_tree, write_tree

KiB = 1024
MiB = 1024 * KiB
_real_seal = ChunkKeys.seal
_real_chunk_id = ChunkKeys.chunk_id


class PackOrder(FilesystemVault):
    """Remembers the order packs were handed to the vault."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.packs: list[str] = []

    def put(
        self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None, durable: bool = True
    ) -> ObjectInfo:
        if key.startswith(PACKS_DIR + "/"):
            self.packs.append(key)
        return super().put(key, chunks, retain_until=retain_until, durable=durable)


class Workers:
    """Wraps ChunkKeys.seal and chunk_id: records who ran them, delays them at random, can fail or stall."""

    def __init__(self, *, fail_seal: int = 0, gate: threading.Event | None = None, jitter: float = 0.004) -> None:
        self.sealed: list[tuple[str, str]] = []  # (thread, chunk id)
        self.id_threads: set[str] = set()
        self.fail_seal = fail_seal
        self.gate = gate
        self.jitter = jitter
        self.finished_at: list[float] = []
        self._rng = random.Random(9)
        self._lock = threading.Lock()

    def _delay(self) -> None:
        with self._lock:
            pause = self._rng.random() * self.jitter
        time.sleep(pause)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Workers:
        workers = self

        def seal(keys: ChunkKeys, chunk_id: str, plain: Any) -> Any:
            name = threading.current_thread().name
            if name.startswith("chunk-work"):
                workers._delay()
                if workers.gate is not None:
                    workers.gate.wait(10)
            with workers._lock:
                workers.sealed.append((name, chunk_id))
                count = sum(1 for thread, _ in workers.sealed if thread.startswith("chunk-work"))
            if workers.fail_seal and count == workers.fail_seal:
                raise OSError("the sealing worker failed")
            try:
                return _real_seal(keys, chunk_id, plain)
            finally:
                workers.finished_at.append(time.monotonic())

        def chunk_id(keys: ChunkKeys, plain: Any) -> str:
            name = threading.current_thread().name
            if name.startswith("chunk-work"):
                workers.id_threads.add(name)
                workers._delay()
            return _real_chunk_id(keys, plain)

        monkeypatch.setattr(ChunkKeys, "seal", seal)
        monkeypatch.setattr(ChunkKeys, "chunk_id", chunk_id)
        return workers


def _tree(root: Path) -> Path:
    rng = random.Random(4)
    block = rng.randbytes(300 * KiB)
    files = {
        "a/model.bin": rng.randbytes(3 * MiB),
        "a/model-copy.bin": b"",  # filled below: the same bytes, so its chunks are all reused
        "b/repeated.bin": block * 6,  # the same chunk again and again inside the window
        "c/text.log": b"".join(b"line %d of the log, request ok\n" % i for i in range(60_000)),
        **{f"d/small-{i:02d}.json": rng.randbytes(rng.randint(0, 3 * KiB)) for i in range(25)},
        "e/empty": b"",
    }
    files["a/model-copy.bin"] = files["a/model.bin"]
    return write_tree(root, files)


def _backup(src: Path, vault: FilesystemVault, keyring: KeyRing, **kwargs: Any) -> Any:
    return backup_chunked(
        source=src,
        vault=vault,
        point_prefix="asset/p1",
        keyring=keyring,
        key_id="k1",
        retain_until=None,
        average_chunk=256 * KiB,
        pack_size=512 * KiB,
        **kwargs,
    )


def _no_helpers_left() -> bool:
    return not [t.name for t in threading.enumerate() if t.name.startswith(("chunk-work", "file-hash"))]


def test_chunks_are_sealed_on_workers_and_stored_in_the_order_they_were_cut(
    tmp_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _tree(tmp_path / "src")
    vault = PackOrder(tmp_path / "vault")
    workers = Workers().install(monkeypatch)
    manifest = _backup(src, vault, keyring)

    entries = list(manifest.files(keyring))
    data_ids = {ref.chunk_id for entry in entries for ref in entry.chunks}
    sizes = {ref.chunk_id: ref.size for entry in entries for ref in entry.chunks}
    large = {thread for thread, chunk_id in workers.sealed if sizes.get(chunk_id, 0) >= INLINE_BELOW}
    assert large and all(name.startswith("chunk-work") for name in large), "large chunks are sealed in the pool"
    assert not workers.id_threads, "their ids are computed as they are cut, while they are in the cache"

    # Each new chunk sealed once, though copies of it were in the window together.
    seals = Counter(chunk_id for _thread, chunk_id in workers.sealed if chunk_id in data_ids)
    assert set(seals.values()) == {1}
    assert len(seals) == manifest.totals.new_chunks == len(data_ids)

    # Whatever order the workers finished in, the packs hold the chunks in the order they were cut.
    first_seen: list[tuple[int, int]] = []
    seen: set[str] = set()
    for entry in entries:
        for ref in entry.chunks:
            if ref.chunk_id not in seen:
                seen.add(ref.chunk_id)
                first_seen.append((vault.packs.index(ref.pack), ref.offset))
    assert first_seen == sorted(first_seen) and len(set(first_seen)) == len(first_seen)

    restore_tree(vault=vault, manifest=manifest, target_dir=tmp_path / "out", keyring=keyring)
    assert read_tree(tmp_path / "out") == read_tree(src)
    assert _no_helpers_left()


def test_a_sealing_worker_that_fails_fails_the_backup_and_leaves_no_pack_index_or_manifest(
    tmp_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _tree(tmp_path / "src")
    vault = PackOrder(tmp_path / "vault")
    workers = Workers(fail_seal=12).install(monkeypatch)
    with pytest.raises(OSError, match="sealing worker failed"):
        _backup(src, vault, keyring)
    assert len(vault.packs) >= 2, "packs were written before the failure, and taken back"
    assert list(vault.list(PACKS_DIR)) == []
    assert list(vault.list(INDEX_DIR)) == []
    assert list(vault.list("asset")) == [], "no manifest"
    assert _no_helpers_left()
    assert len(workers.sealed) >= 12


def test_a_backup_cancelled_midway_stops_its_workers_and_leaves_nothing(
    tmp_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.bin": os.urandom(2 * MiB) for i in range(4)})
    vault = PackOrder(tmp_path / "vault")
    workers = Workers(jitter=0.01).install(monkeypatch)
    reported: list[int] = []

    def cancel_after_two_mib() -> bool:
        return bool(reported) and reported[-1] >= 2 * MiB

    with pytest.raises(Cancelled, match="cancelled after"):
        _backup(
            src,
            vault,
            keyring,
            progress=lambda done, _total: reported.append(done),
            should_cancel=cancel_after_two_mib,
            check_interval=0,
        )
    stopped = time.monotonic()
    assert reported == sorted(reported) and 2 * MiB <= reported[-1] < 8 * MiB
    assert list(vault.list(PACKS_DIR)) == [] and list(vault.list(INDEX_DIR)) == []
    assert list(vault.list("asset")) == []
    assert _no_helpers_left()
    assert max(workers.finished_at) <= stopped, "no worker runs on after the backup has returned"


def _pipeline(keys: ChunkKeys, window: int, log: list[Any]) -> ChunkPipeline:
    stored: set[str] = set()

    def commit(done: Committed) -> None:
        if done.sealed is not None:
            stored.add(done.chunk_id)
        log.append((done.file.tag, done.plain[:4], done.sealed is not None))

    def end_file(file: PendingFile) -> None:
        log.append((file.tag, "end", pipeline.hexdigest(file)))

    pipeline = ChunkPipeline(
        keys=keys, stored=stored.__contains__, commit=commit, end_file=end_file, window_bytes=window
    )
    return pipeline


def test_the_pipeline_waits_for_room_beyond_its_window_and_commits_in_order(
    keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    Workers(gate=gate).install(monkeypatch)
    keys = ChunkKeys(keyring, "k1", os.urandom(32))
    log: list[Any] = []
    pipeline = _pipeline(keys, 4 * MiB, log)
    chunks = [i.to_bytes(4, "big") + os.urandom(MiB - 4) for i in range(12)]
    accepted: list[int] = []

    def produce() -> None:
        file = PendingFile(tag="f")
        for i, plain in enumerate(chunks):
            pipeline.add(file, plain)
            accepted.append(i)
        pipeline.end(file)
        pipeline.finish()

    producer = threading.Thread(target=produce)
    try:
        producer.start()
        deadline = time.monotonic() + 10
        while len(accepted) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # every seal is held at the gate: the producer must stay at the window
        assert len(accepted) == 4, "4 MiB in flight, the fifth chunk waits for room"
        assert log == [] and pipeline.bytes_in_flight <= 4 * MiB + MiB
        gate.set()
        producer.join(10)
    finally:
        gate.set()
        pipeline.close()
    assert accepted == list(range(12))
    assert [entry[1] for entry in log[:-1]] == [plain[:4] for plain in chunks], "committed in the order added"
    assert log[-1] == ("f", "end", hashlib.sha256(b"".join(chunks)).hexdigest())
    assert pipeline.peak_bytes <= 4 * MiB + MiB


def test_the_pipeline_seals_a_chunk_once_when_copies_of_it_wait_together(keyring: KeyRing) -> None:
    keys = ChunkKeys(keyring, "k1", os.urandom(32))
    log: list[Any] = []
    pipeline = _pipeline(keys, 16 * MiB, log)
    same = os.urandom(256 * KiB)
    files = [PendingFile(tag=name) for name in ("x", "y")]
    try:
        for file in files:
            for plain in (same, same, os.urandom(256 * KiB)):
                pipeline.add(file, plain)
            pipeline.end(file)
        pipeline.finish()
    finally:
        pipeline.close()
    sealed = [entry[2] for entry in log if entry[1] != "end"]
    assert sealed == [True, False, True, False, False, True]
    assert [entry[0] for entry in log if entry[1] == "end"] == ["x", "y"]
