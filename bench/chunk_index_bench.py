"""Memory and lookup time of the chunk index a backup loads, at a vault's full chunk count.

    python -m bench.chunk_index_bench --chunks 10000000

Feeds ``--chunks`` rows (random 32-byte ids, 4,096 chunks a pack, as a backup reads them
from index segments) into ``ChunkIndexBuilder`` one at a time, builds the index, and
reports the process's peak resident memory above what it held before the first row,
the bytes the built columns hold, and the time of 100,000 lookups (half present, half
absent). Run it in a fresh process: the peak is the process's own high-water mark.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory.engine.chunks.index import ChunkIndexBuilder
from inventory.engine.chunks.ref import ChunkRef

PACK_CHUNKS = 4096


def _rss_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _rss_now_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000, help="rows in the index (default 1,000,000)")
    args = parser.parse_args()
    rng = random.Random(7)
    sample: list[bytes] = []
    start_mib = _rss_now_mib()
    started = time.perf_counter()
    builder = ChunkIndexBuilder()
    for row in range(args.chunks):
        chunk_id = rng.randbytes(32)
        if row % max(1, args.chunks // 50_000) == 0:
            sample.append(chunk_id)
        builder.add(
            ChunkRef(
                chunk_id=chunk_id.hex(),
                pack=f"chunks/packs/{row // PACK_CHUNKS:032x}",
                offset=(row % PACK_CHUNKS) * 1_048_640,
                stored=1_048_620,
                size=1_048_576,
                codec=row % 2,
            )
        )
    loaded_mib = _rss_now_mib()
    index = builder.build()
    del builder
    built = time.perf_counter() - started
    held_mib = _rss_now_mib()
    peak_mib = _rss_peak_mib()
    probes = [*sample, *(rng.randbytes(32) for _ in range(len(sample)))]
    t0 = time.perf_counter()
    found = sum(index.get(probe) is not None for probe in probes)
    lookup_us = (time.perf_counter() - t0) / len(probes) * 1e6
    assert found == len(sample), (found, len(sample))
    n = len(index)
    print(f"chunks: {n:,}  load and build: {built:.1f} s")
    print(f"columns: {index.nbytes / 2**20:.0f} MiB ({index.nbytes / n:.0f} bytes a chunk)")
    print(f"rss before the first row: {start_mib:.0f} MiB")
    per_row = (loaded_mib - start_mib) * 2**20 / n
    print(f"rss with the rows collected, before sorting: {loaded_mib:.0f} MiB ({per_row:.0f} bytes a chunk)")
    print(f"rss once built: {held_mib:.0f} MiB ({(held_mib - start_mib) * 2**20 / n:.0f} bytes a chunk)")
    print(f"peak rss: {peak_mib:.0f} MiB ({(peak_mib - start_mib) * 2**20 / n:.0f} bytes a chunk above the start)")
    print(f"lookup: {lookup_us:.1f} µs each over {len(probes):,} ids, half absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
