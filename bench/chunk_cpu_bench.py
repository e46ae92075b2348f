"""Where a chunk-store backup spends its CPU, per stage and per thread, on large page-cached files.

Run with ``python -m bench.chunk_cpu_bench --work DIR`` (``--mib`` per file, 500 by
default). Two files are made once under ``DIR`` and read into the page cache: float32
vectors (stored raw after one sample) and generated log-like text (compressed). For each:

* every stage alone on the file's own chunks, CPU per MiB (``thread_time``): reading and
  cutting, the chunk id (HMAC-SHA256), the file's SHA-256, zstd (sample, then whole
  chunk if it pays), AES-256-GCM;
* whole backups into a fresh filesystem vault: wall clock, the process's CPU, the main
  thread's CPU, and each helper thread's CPU (sampled from ``/proc``).

``--gil`` first asks of each primitive whether it lets another Python thread run while
it works: a second thread spins in Python during one large call, and its CPU over the
call's CPU is printed (near 0: the call holds the GIL; near 1 or more: it releases it).

CPU seconds hardly move with the machine's load; wall clock does, so the load average is
printed beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyfastcdc import FastCDC

from inventory.engine import FilesystemVault, KeyRing
from inventory.engine.chunks import backup_chunked
from inventory.engine.chunks.backup import AVERAGE_CHUNK, Chunker
from inventory.engine.chunks.codec import ChunkKeys

MiB = 1024 * 1024
_WORDS = np.array(
    b"the model served fraud score request id user latency ms ok error retry vector index batch feature "
    b"store commit table page region eu-west us-east GET POST 200 404 500 cache hit miss".split()
)


def make_vectors(path: Path, mib: int) -> None:
    rng = np.random.default_rng(7)
    with open(path, "wb") as handle:
        for _ in range(mib // 8):
            handle.write(rng.standard_normal(2 * MiB, dtype=np.float32).tobytes())


def make_text(path: Path, mib: int) -> None:
    """Log-like lines: words from a small vocabulary and random numbers (no two blocks alike)."""
    rng = np.random.default_rng(8)
    with open(path, "wb") as handle:
        written = 0
        while written < mib * MiB:
            words = _WORDS[rng.integers(0, len(_WORDS), 200_000)]
            numbers = rng.integers(0, 1_000_000, 40_000).astype("S7")
            lines = [b" ".join(words[i * 5 : i * 5 + 5]) + b" " + numbers[i] for i in range(40_000)]
            block = b"\n".join(lines) + b"\n"
            handle.write(block)
            written += len(block)


def _spin(stop: threading.Event, stamps: list[tuple[float, float]]) -> None:
    turns = 0
    while not stop.is_set():
        turns += 1
        if turns % 100 == 0:
            stamps.append((time.perf_counter(), time.thread_time()))


def gil(text: Path) -> dict[str, list[float]]:
    """Another thread's CPU while each primitive runs once on a large buffer, over the primitive's CPU."""
    vectors = np.random.default_rng(1).standard_normal(64 * MiB, dtype=np.float32).tobytes()
    with open(text, "rb") as handle:
        words = handle.read(64 * MiB)
    key = os.urandom(32)
    aead = AESGCM(key)
    cdc = FastCDC(768 * 1024, min_size=192 * 1024, max_size=4 * MiB)
    zstd = zstandard.ZstdCompressor(level=1)
    calls: dict[str, Callable[[], object]] = {
        "hmac-sha256": lambda: hmac.new(key, vectors, hashlib.sha256).digest(),
        "sha256": lambda: hashlib.sha256(vectors).digest(),
        "zstd level 1 (text)": lambda: zstd.compress(words),
        "aes-256-gcm": lambda: aead.encrypt(os.urandom(12), vectors, b"header"),
        "fastcdc (stream)": lambda: sum(1 for _ in cdc.cut_stream(io.BytesIO(vectors))),
        "a python loop": lambda: sum(range(5_000_000)),
    }
    found: dict[str, list[float]] = {}
    for name, call in calls.items():
        call()
        found[name] = []
        for _ in range(3):
            stop, stamps = threading.Event(), list[tuple[float, float]]()
            other = threading.Thread(target=_spin, args=(stop, stamps))
            other.start()
            time.sleep(0.05)
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            call()
            cpu, wall1 = time.thread_time() - cpu0, time.perf_counter()
            stop.set()
            other.join()
            inside = [cpu for when, cpu in stamps if wall0 <= when <= wall1]
            found[name].append(round((inside[-1] - inside[0]) / cpu if len(inside) > 1 else 0.0, 2))
    return found


def page_cache(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(8 * MiB):
            pass


def stages(path: Path, keys: ChunkKeys) -> dict[str, float]:
    """CPU milliseconds per MiB of each stage, each run alone over the file's chunks."""
    size = path.stat().st_size
    chunker = Chunker(AVERAGE_CHUNK)
    spent = dict.fromkeys(("read+cut", "chunk id", "file sha256", "zstd", "aes-gcm", "copies"), 0.0)
    id_key = os.urandom(32)
    with open(path, "rb", buffering=0) as stream:
        it = iter(chunker.chunks(stream, size))
        while True:
            t0 = time.thread_time()
            plain = next(it, None)
            t1 = time.thread_time()
            if plain is None:
                break
            hmac.new(id_key, plain, hashlib.sha256).digest()
            t2 = time.thread_time()
            hashlib.sha256(plain).digest()
            t3 = time.thread_time()
            payload, _codec = keys._compress(plain)
            t4 = time.thread_time()
            sealed = keys._aead.encrypt(os.urandom(12), payload, b"h" * 52)
            t5 = time.thread_time()
            _joined = b"h" * 34 + sealed
            t6 = time.thread_time()
            for name, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
                spent[name] += took
    return {name: round(took * 1000 / (size / MiB), 3) for name, took in spent.items()}


class ThreadClock:
    """Samples every thread's CPU time from /proc, keeping the last value seen per thread."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-clock", daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> ThreadClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def _sample(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}
        for task in os.listdir("/proc/self/task"):
            try:
                fields = Path(f"/proc/self/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = names.get(int(task), f"native-{task}")
            if name == "bench-clock":
                continue
            # Pool threads are numbered (pack-writer_0); name them by role.
            role = name.rsplit("_", 1)[0] if name[-1:].isdigit() and "_" in name else name
            key = f"{role}#{task}"
            self.cpu[key] = (int(fields[11]) + int(fields[12])) / self._tick


def one_backup(path: Path, work: Path, keyring: KeyRing, run: int) -> dict[str, Any]:
    vault_dir = work / f"vault-{run}"
    shutil.rmtree(vault_dir, ignore_errors=True)
    vault = FilesystemVault(vault_dir)
    src = work / f"src-{path.stem}"
    src.mkdir(exist_ok=True)
    link = src / path.name
    if not link.exists():
        os.link(path, link)
    load = os.getloadavg()[0]
    wall0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
    with ThreadClock() as clock:
        backup_chunked(
            source=src, vault=vault, point_prefix="bench/p", keyring=keyring, key_id="bench", retain_until=None
        )
    wall, cpu, main = time.perf_counter() - wall0, time.process_time() - cpu0, time.thread_time() - main0
    shutil.rmtree(vault_dir, ignore_errors=True)
    helpers: dict[str, float] = {}
    for key, spent in clock.cpu.items():
        role = key.split("#")[0]
        if role != "MainThread":
            helpers[role] = round(helpers.get(role, 0.0) + spent, 2)
    mib = path.stat().st_size / MiB
    return {
        "file": path.name,
        "load": round(load, 2),
        "wall_s": round(wall, 3),
        "mib_per_s": round(mib / wall, 1),
        "cpu_s": round(cpu, 3),
        "main_cpu_s": round(main, 3),
        "helpers_cpu_s": helpers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the inputs and vaults (kept)")
    parser.add_argument("--mib", type=int, default=500, help="size of each input file")
    parser.add_argument("--runs", type=int, default=2, help="backups of each file")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage timing")
    parser.add_argument("--only", default="vectors,text", help="which inputs: vectors, text")
    parser.add_argument("--gil", action="store_true", help="first check which primitives release the GIL")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    inputs = {"vectors": args.work / f"vectors-{args.mib}.f32", "text": args.work / f"text-{args.mib}.log"}
    makers = {"vectors": make_vectors, "text": make_text}
    keyring = KeyRing({"bench": os.urandom(32)})
    keys = ChunkKeys(keyring, "bench", os.urandom(32))
    if args.gil:
        if not inputs["text"].exists():
            make_text(inputs["text"], args.mib)
        print(json.dumps({"other thread's cpu / call's cpu": gil(inputs["text"])}), flush=True)
    for kind in args.only.split(","):
        path = inputs[kind]
        if not path.exists():
            makers[kind](path, args.mib)
        page_cache(path)
        if not args.no_stages:
            print(json.dumps({"file": path.name, "cpu_ms_per_mib": stages(path, keys)}), flush=True)
        for run in range(args.runs):
            print(json.dumps(one_backup(path, args.work, keyring, run)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
