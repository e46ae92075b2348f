"""Format-1 backup and restore throughput against tar/cat piped to ``openssl dgst -sha256``, and peak memory.

Run with ``python -m bench.backup_bench`` (``--quick`` for a small tree). It builds a tree
of real random files under a temporary folder, then in the same run times:

* backup: ``backup_tree`` (AES-256-GCM, SHA-256, fsync) into a FilesystemVault, against
  ``tar -c | openssl dgst -sha256`` over the same tree;
* restore: ``restore_tree`` (decrypt, verify, fsync, rename) of that point, against
  ``cat <the point's vault files> | openssl dgst -sha256``;
* peak RSS of a process that backs up and restores one file, for a small and a big file.

Each timing is the median of ``--repeat`` runs with the page cache warm for both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory.engine import (
    DEFAULT_CHUNK_SIZE,
    FilesystemVault,
    KeyRing,
    Manifest,
    backup_tree,
    restore_tree,
    verify_target,
)

MiB = 1024 * 1024
GiB = 1024 * MiB


def build_tree(root: Path, total: int, *, seed: int = 7) -> tuple[int, int]:
    """A few large files (50 %), some medium ones (20 %), thousands of small ones (30 %)."""
    rng = random.Random(seed)
    files = 0
    written = 0

    def write(path: Path, size: int) -> None:
        nonlocal files, written
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            left = size
            while left:
                piece = min(left, 4 * MiB)
                handle.write(os.urandom(piece))
                left -= piece
        files += 1
        written += size

    for index, share in enumerate((0.25, 0.15, 0.10)):
        write(root / "models" / f"large-{index}.safetensors", int(total * share))
    medium_total = int(total * 0.20)
    for index in range(32):
        write(root / "features" / f"part-{index:03d}.parquet", medium_total // 32)
    small_budget = total - written
    index = 0
    while small_budget > 0:
        size = min(small_budget, rng.randint(1024, 64 * 1024))
        write(root / "shards" / f"{index % 64:02d}" / f"doc-{index:06d}.json", size)
        small_budget -= size
        index += 1
    return files, written


def pipe_to_sha256(command: list[str], stdin_data: bytes | None = None) -> float:
    """Wall time of ``command | openssl dgst -sha256``.

    Not ``sha256sum``: Debian's build does not use the CPU's SHA instructions and is
    three to four times slower than OpenSSL's, which made the engine look better than it is.
    """
    started = time.perf_counter()
    producer = subprocess.Popen(
        command, stdin=subprocess.PIPE if stdin_data is not None else None, stdout=subprocess.PIPE
    )
    hasher = subprocess.Popen(["openssl", "dgst", "-sha256"], stdin=producer.stdout, stdout=subprocess.PIPE)
    assert producer.stdout is not None
    producer.stdout.close()
    if stdin_data is not None:
        assert producer.stdin is not None
        producer.stdin.write(stdin_data)
        producer.stdin.close()
    hasher.communicate()
    if producer.wait() != 0 or hasher.returncode != 0:
        raise RuntimeError(f"{command[0]} | openssl dgst -sha256 failed")
    return time.perf_counter() - started


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kib() -> int:
    """This process's RSS high-water mark so far, in KiB.

    VmHWM rather than getrusage's ru_maxrss: on Linux the latter survives fork and
    exec, so a probe started from the (bigger) benchmark process would report the
    parent's peak instead of its own.
    """
    hwm = _status_kib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib() -> int:
    current = _status_kib("VmRSS")
    return current if current is not None else rss_kib()


def memory_probe(path: Path, workdir: Path, chunk_size: int) -> dict[str, int]:
    """In a fresh process: back up and restore one file; report the RSS high-water mark."""
    keyring = KeyRing({"bench": os.urandom(32)})
    vault = FilesystemVault(workdir / "probe-vault")
    before = current_rss_kib()
    manifest = backup_tree(
        source=path,
        vault=vault,
        point_prefix="probe/p",
        keyring=keyring,
        key_id="bench",
        retain_until=None,
        chunk_size=chunk_size,
    )
    after_backup = rss_kib()
    restore_tree(vault=vault, manifest=manifest, target_dir=workdir / "probe-out", keyring=keyring)
    return {
        "size": path.stat().st_size,
        "rss_before_kib": before,
        "rss_backup_kib": after_backup,
        "rss_peak_kib": rss_kib(),
    }


def run_memory(sizes: list[int], workdir: Path, chunk_size: int) -> list[dict[str, int]]:
    results = []
    for size in sizes:
        folder = workdir / f"mem-{size}"
        folder.mkdir()
        source = folder / "single.bin"
        with open(source, "wb") as handle:
            left = size
            while left:
                piece = min(left, 4 * MiB)
                handle.write(os.urandom(piece))
                left -= piece
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.backup_bench",
                "--memory-probe",
                str(source),
                "--workdir",
                str(folder),
                "--chunk-mib",
                str(chunk_size / MiB),
            ],
            capture_output=True,
            check=True,
            text=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        shutil.rmtree(folder)
    return results


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
        "kernel": platform.release(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 64 MiB tree, memory at 10 and 128 MiB, 2 repeats")
    parser.add_argument("--size-mib", type=int, default=None, help="tree size (default 1024, quick 64)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs of each side (default 3)")
    parser.add_argument("--chunk-mib", type=float, default=DEFAULT_CHUNK_SIZE / MiB, help="AES-GCM chunk size")
    parser.add_argument("--workdir", type=Path, default=None, help="where to build the tree (default: temp dir)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--memory-probe", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chunk_size = int(args.chunk_mib * MiB)

    if args.memory_probe is not None:
        print(json.dumps(memory_probe(args.memory_probe, args.workdir, chunk_size)))
        return 0

    size = (args.size_mib or (64 if args.quick else 1024)) * MiB
    repeat = args.repeat or (2 if args.quick else 3)
    memory_sizes = [10 * MiB, 128 * MiB] if args.quick else [10 * MiB, 1 * GiB]
    workdir = Path(tempfile.mkdtemp(prefix="dr-bench-", dir=args.workdir))
    try:
        tree = workdir / "tree"
        print(f"building a {size / MiB:.0f} MiB tree ...", flush=True)
        files, total = build_tree(tree, size)
        pipe_to_sha256(["tar", "-cf", "-", "-C", str(tree), "."])  # warm the page cache
        keyring = KeyRing({"bench": os.urandom(32)})
        vault = FilesystemVault(workdir / "vault")
        rows: dict[str, list[float]] = {"tar_sha256": [], "backup": [], "cat_sha256": [], "restore": [], "cp_r": []}
        stored = 0
        for rep in range(repeat):
            rows["tar_sha256"].append(pipe_to_sha256(["tar", "-cf", "-", "-C", str(tree), "."]))
            point = f"bench/p{rep}"
            seconds, manifest = timed(
                lambda point=point: backup_tree(  # type: ignore[misc]
                    source=tree,
                    vault=vault,
                    point_prefix=point,
                    keyring=keyring,
                    key_id="bench",
                    retain_until=None,
                    chunk_size=chunk_size,
                )
            )
            assert isinstance(manifest, Manifest)
            rows["backup"].append(seconds)
            stored = manifest.total_stored_bytes
            keys = list(dict.fromkeys(entry.object_key for entry in manifest.files))  # packs hold many files
            objects = b"\0".join(str(vault.path_of(key)).encode() for key in keys)
            pipe_to_sha256(["xargs", "-0", "cat"], stdin_data=objects)  # both sides read a warm cache
            rows["cat_sha256"].append(pipe_to_sha256(["xargs", "-0", "cat"], stdin_data=objects))
            target = workdir / f"restore-{rep}"
            seconds, _result = timed(
                lambda target=target, manifest=manifest: restore_tree(  # type: ignore[misc]
                    vault=vault, manifest=manifest, target_dir=target, keyring=keyring
                )
            )
            rows["restore"].append(seconds)
            # For context only: a plain copy creates the same files, without crypto or checks.
            copy = ["cp", "-r", str(tree), str(workdir / f"copy-{rep}")]
            rows["cp_r"].append(timed(lambda copy=copy: subprocess.run(copy, check=True))[0])  # type: ignore[misc]
            if rep == 0:
                report = verify_target(manifest=manifest, target_dir=target)
                if not report.ok:
                    raise SystemExit(f"restore produced wrong files: {report.summary()}")
            print(
                f"run {rep + 1}/{repeat}: tar|openssl {rows['tar_sha256'][-1]:.2f}s  backup {rows['backup'][-1]:.2f}s"
                f"  cat|openssl {rows['cat_sha256'][-1]:.2f}s  restore {rows['restore'][-1]:.2f}s"
                f"  cp -r {rows['cp_r'][-1]:.2f}s",
                flush=True,
            )
        median = {name: statistics.median(values) for name, values in rows.items()}
        throughput = {name: total / seconds / MiB for name, seconds in median.items()}
        results: dict[str, Any] = {
            "tree_bytes": total,
            "files": files,
            "stored_bytes": stored,
            "chunk_size": chunk_size,
            "repeat": repeat,
            "seconds": rows,
            "median_seconds": median,
            "mib_per_s": throughput,
            "backup_ratio": median["tar_sha256"] / median["backup"],
            "restore_ratio": median["cat_sha256"] / median["restore"],
            "machine": machine(),
        }
        if not args.skip_memory:
            print("measuring peak memory ...", flush=True)
            results["memory"] = run_memory(memory_sizes, workdir, chunk_size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"tree: {files} files, {total / MiB:.0f} MiB; chunk {chunk_size / MiB:g} MiB; median of {repeat} runs")
    print("| measurement | seconds | MiB/s |")
    print("|---|---:|---:|")
    labels = {
        "tar_sha256": "`tar -c | openssl dgst -sha256` (baseline)",
        "backup": "backup_tree, encrypted, FilesystemVault",
        "cat_sha256": "`cat <vault files> | openssl dgst -sha256` (baseline)",
        "restore": "restore_tree, decrypted and verified",
        "cp_r": "`cp -r` of the tree (context: same file creations, no crypto, no flush)",
    }
    for name, label in labels.items():
        print(f"| {label} | {median[name]:.2f} | {throughput[name]:.0f} |")
    goal = "meets" if results["backup_ratio"] >= 0.6 else "MISSES"
    print(f"backup ratio  {results['backup_ratio']:.2f} ({goal} the 0.6 goal)")
    goal = "meets" if results["restore_ratio"] >= 0.6 else "MISSES"
    print(f"restore ratio {results['restore_ratio']:.2f} ({goal} the 0.6 goal)")
    for item in results.get("memory", []):
        print(
            f"one {item['size'] / MiB:.0f} MiB file: RSS before {item['rss_before_kib'] / 1024:.1f} MiB, "
            f"high-water after backup {item['rss_backup_kib'] / 1024:.1f} MiB, "
            f"after restore {item['rss_peak_kib'] / 1024:.1f} MiB"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
