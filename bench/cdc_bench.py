"""Compare the two FastCDC packages from PyPI on the same bytes: throughput and chunk sizes.

    .venv/bin/python -m bench.cdc_bench [--mib 256] [--avg 1048576]

The data is random bytes (the worst case for a chunker: no shortcut), written to a
temporary file once; each candidate cuts the same file three times with the chunk
store's parameters (``Chunker``: FastCDC average 3/4 of the target, minimum a quarter of
that, maximum 4 x the target) and the best run counts. ``pyfastcdc`` is what the chunk
store uses; ``fastcdc`` is only measured when it is installed (a dev dependency).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def make_data(path: Path, mib: int) -> None:
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(1024 * 1024))


def run_pyfastcdc(path: Path, avg: int) -> list[int]:
    from pyfastcdc import FastCDC

    param = avg * 3 // 4
    chunker = FastCDC(param, min_size=param // 4, max_size=avg * 4)
    with path.open("rb") as handle:
        return [chunk.length for chunk in chunker.cut_stream(handle)]


def run_fastcdc(path: Path, avg: int) -> list[int]:
    from fastcdc import fastcdc

    param = avg * 3 // 4
    return [chunk.length for chunk in fastcdc(str(path), param // 4, param, avg * 4, fat=False)]


def measure(name: str, fn: Callable[[Path, int], list[int]], path: Path, avg: int, size: int) -> None:
    times = []
    lengths: list[int] = []
    for _ in range(3):
        start = time.perf_counter()
        lengths = fn(path, avg)
        times.append(time.perf_counter() - start)
    assert sum(lengths) == size, f"{name} lost bytes"
    best = min(times)
    print(
        f"| {name} | {size / best / 2**20:,.0f} MiB/s | {best:.3f} s | {len(lengths)} | "
        f"{statistics.mean(lengths) / 2**10:,.0f} KiB | {min(lengths) / 2**10:,.0f} KiB | "
        f"{max(lengths) / 2**10:,.0f} KiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--avg", type=int, default=1024 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "data")
        make_data(path, args.mib)
        size = path.stat().st_size
        with path.open("rb") as handle:  # warm the page cache
            while handle.read(8 << 20):
                pass
        print("| package | throughput | time (best of 3) | chunks | mean | min | max |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        measure("pyfastcdc 0.3.1 (cut_stream)", run_pyfastcdc, path, args.avg, size)
        try:
            import fastcdc  # noqa: F401
        except ImportError:
            print("fastcdc is not installed: skipped")
        else:
            measure("fastcdc 1.7.0 (Cython, mmap)", run_fastcdc, path, args.avg, size)


if __name__ == "__main__":
    main()
