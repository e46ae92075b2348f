"""The chunk store against restic and borg, side by side in one run, on the same generated tree.

Run with ``python -m bench.chunk_bench`` (``--mib 1024`` for the issue's 1 GiB tree; the
default, 128 MiB, takes a few minutes on two shared cores). For each tool, in turn:

* first backup of the tree into a fresh repository (ours: a FilesystemVault);
* a 1 % change: a few small files rewritten, one large file appended to, one new file;
* second backup: its time and the bytes it added to the repository;
* restore of the second backup into an empty folder, checked file by file.

Baselines over the same bytes: ``cat > /dev/null`` and ``tar -c | openssl dgst -sha256``
(Debian's ``sha256sum`` does not use the CPU's SHA instructions, so it would flatter us).
restic and borg are Debian's packages; when one is missing the bench says so and skips it.
Ratios are ours / theirs for times (below 1: we are faster) and bytes added / bytes changed.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.backup_bench import build_tree, machine
from inventory.engine import FilesystemVault, KeyRing, restore_tree
from inventory.engine.chunks import backup_chunked, read_manifest_v2

MiB = 1024 * 1024
# Throwaway repositories under a temporary folder: a fresh random passphrase per run.
PASSWORD = os.urandom(16).hex()


def du(path: Path) -> int:
    """Bytes of every file under ``path`` (what a repository holds)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(command: list[str], **kwargs: Any) -> None:
    done = subprocess.run(command, capture_output=True, check=False, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {done.stderr.decode(errors='replace')[-400:]}")


def change_one_percent(tree: Path, total: int, *, seed: int = 11) -> int:
    """Rewrite a few small files, append to one large file, add one file; returns the bytes changed."""
    rng = random.Random(seed)
    budget = total // 100
    changed = 0
    small = sorted((tree / "shards").rglob("*.json"))
    for path in rng.sample(small, min(8, len(small))):  # about a third of the change
        if changed >= budget // 3:
            break
        size = path.stat().st_size
        path.write_bytes(os.urandom(size))
        changed += size
    append = (budget - changed) // 2
    with open(tree / "models" / "large-0.safetensors", "ab") as handle:
        handle.write(os.urandom(append))
    changed += append
    extra = budget - changed
    (tree / "features" / "part-new.parquet").write_bytes(os.urandom(extra))
    return changed + extra


def same_tree(left: Path, right: Path) -> bool:
    compare = filecmp.dircmp(left, right)
    if compare.left_only or compare.right_only or compare.diff_files or compare.funny_files:
        return False
    _match, mismatch, errors = filecmp.cmpfiles(left, right, compare.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(same_tree(left / sub, right / sub) for sub in compare.common_dirs)


class Ours:
    name = "DR Portal chunk store"

    def __init__(self, work: Path) -> None:
        self.vault_dir = work / "ours-vault"
        self.vault = FilesystemVault(self.vault_dir)
        self.keyring = KeyRing({"bench": os.urandom(32)})
        self.points: list[Any] = []

    def available(self) -> bool:
        return True

    def init(self) -> None:
        pass

    def backup(self, tree: Path) -> None:
        self.points.append(
            backup_chunked(
                source=tree,
                vault=self.vault,
                point_prefix=f"bench/p{len(self.points)}",
                keyring=self.keyring,
                key_id="bench",
                retain_until=None,
                # As the portal does: the asset's previous point is the parent (its files cache).
                parent=self.points[-1].point if self.points else None,
            )
        )

    def restore(self, target: Path) -> Path:
        restore_tree(vault=self.vault, manifest=self.points[-1], target_dir=target, keyring=self.keyring)
        return target

    def repo(self) -> Path:
        return self.vault_dir


class Restic:
    name = "restic"

    def __init__(self, work: Path) -> None:
        self.repo_dir = work / "restic-repo"
        self.env = {**os.environ, "RESTIC_PASSWORD": PASSWORD, "RESTIC_CACHE_DIR": str(work / "restic-cache")}

    def available(self) -> bool:
        return shutil.which("restic") is not None

    def init(self) -> None:
        run(["restic", "init", "--repo", str(self.repo_dir)], env=self.env)

    def backup(self, tree: Path) -> None:
        run(["restic", "backup", "--repo", str(self.repo_dir), "--quiet", "."], env=self.env, cwd=tree)

    def restore(self, target: Path) -> Path:
        run(["restic", "restore", "latest", "--repo", str(self.repo_dir), "--target", str(target)], env=self.env)
        return target

    def repo(self) -> Path:
        return self.repo_dir


class Borg:
    name = "borg"

    def __init__(self, work: Path) -> None:
        self.repo_dir = work / "borg-repo"
        self.env = {
            **os.environ,
            "BORG_PASSPHRASE": PASSWORD,
            "BORG_BASE_DIR": str(work / "borg-home"),
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
        }
        self.archives = 0

    def available(self) -> bool:
        return shutil.which("borg") is not None

    def init(self) -> None:
        run(["borg", "init", "--encryption=repokey-blake2", str(self.repo_dir)], env=self.env)

    def backup(self, tree: Path) -> None:
        self.archives += 1
        run(["borg", "create", f"{self.repo_dir}::a{self.archives}", "."], env=self.env, cwd=tree)

    def restore(self, target: Path) -> Path:
        target.mkdir(parents=True)
        run(["borg", "extract", f"{self.repo_dir}::a{self.archives}"], env=self.env, cwd=target)
        return target

    def repo(self) -> Path:
        return self.repo_dir


def baselines(tree: Path) -> dict[str, float]:
    files = sorted(str(p) for p in tree.rglob("*") if p.is_file())

    def cat() -> None:
        with open(os.devnull, "wb") as sink:
            for start in range(0, len(files), 500):
                subprocess.run(["cat", *files[start : start + 500]], stdout=sink, check=True)

    def openssl() -> None:
        tar = subprocess.Popen(["tar", "-cf", "-", "-C", str(tree), "."], stdout=subprocess.PIPE)
        digest = subprocess.run(["openssl", "dgst", "-sha256"], stdin=tar.stdout, capture_output=True, check=True)
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or not digest.stdout:
            raise RuntimeError("tar | openssl dgst failed")

    return {"cat_devnull_s": timed(cat), "tar_openssl_sha256_s": timed(openssl)}


def bench_tool(tool: Any, tree: Path, pristine: Path, work: Path, total: int) -> dict[str, Any]:
    """First backup, 1 % change, second backup, restore; the tree is reset from ``pristine`` first."""
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(pristine, tree)
    tool.init()
    row: dict[str, Any] = {"tool": tool.name}
    row["first_backup_s"] = timed(lambda: tool.backup(tree))
    row["repo_after_first"] = du(tool.repo())
    row["changed_bytes"] = change_one_percent(tree, total)
    row["second_backup_s"] = timed(lambda: tool.backup(tree))
    row["bytes_added"] = du(tool.repo()) - row["repo_after_first"]
    target = work / f"restore-{tool.name.split()[0].lower()}"
    row["restore_s"] = timed(lambda: tool.restore(target))
    row["restored_ok"] = same_tree(tree, target)
    shutil.rmtree(target, ignore_errors=True)
    print(
        f"{tool.name}: first {row['first_backup_s']:.2f} s, second {row['second_backup_s']:.2f} s adding "
        f"{row['bytes_added'] / MiB:.2f} MiB ({row['bytes_added'] / row['changed_bytes']:.2f} x changed), "
        f"restore {row['restore_s']:.2f} s, restored tree identical: {row['restored_ok']}",
        flush=True,
    )
    return row


def ratios(ours: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    keys = ("first_backup_s", "second_backup_s", "restore_s", "bytes_added")
    return {key: round(ours[key] / other[key], 2) for key in keys}


def _tiny_tree(tree: Path, count: int) -> None:
    for index in range(count):
        folder = tree / f"d{index // 1000:04d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"f{index:07d}.txt").write_bytes(index.to_bytes(8, "big"))


def _probe(step: str, tree: Path, work: Path, key: str) -> dict[str, int]:
    probe = subprocess.run(
        [sys.executable, "-m", "bench.chunk_bench", "--memory-probe", str(tree), "--workdir", str(work)],
        capture_output=True,
        check=True,
        text=True,
        env={**os.environ, "CHUNK_BENCH_PROBE": f"{step}:{key}"},
    )
    result: dict[str, int] = json.loads(probe.stdout.strip().splitlines()[-1])
    return result


def memory_per_file(work: Path, count: int) -> dict[str, Any]:
    """Peak RSS of fresh processes backing up, then restoring, ``count`` tiny files (and a quarter as many).

    Each step runs in its own process (VmHWM is per process), and the difference between
    the two sizes gives the cost of one more file, free of what any run costs whatever its size.
    """
    result: dict[str, Any] = {"files": count}
    for label, files in (("small", count // 4), ("large", count)):
        tree = work / f"many-{label}"
        _tiny_tree(tree, files)
        key = os.urandom(32).hex()
        vault = work / f"probe-{label}"
        result[label] = {
            "files": files,
            "backup": _probe("backup", tree, vault, key),
            "restore": _probe("restore", tree, vault, key),
        }
        shutil.rmtree(tree, ignore_errors=True)
        shutil.rmtree(vault, ignore_errors=True)
    small, large = result["small"], result["large"]
    for step in ("backup", "restore"):
        grown = (large[step]["peak_kib"] - small[step]["peak_kib"]) * 1024
        result[f"{step}_bytes_per_file"] = round(grown / (large["files"] - small["files"]))
        result[f"{step}_peak_kib"] = large[step]["peak_kib"]
        result[f"{step}_start_kib"] = large[step]["start_kib"]
    return result


def _memory_probe(tree: Path, work: Path) -> None:
    from bench.backup_bench import current_rss_kib, rss_kib

    step, key = os.environ["CHUNK_BENCH_PROBE"].split(":")
    ours = Ours(work)
    ours.keyring = KeyRing({"bench": bytes.fromhex(key)})
    start = current_rss_kib()
    if step == "backup":
        ours.backup(tree)
    else:
        manifest = read_manifest_v2(vault=ours.vault, point="bench/p0", keyring=ours.keyring)
        ours.points.append(manifest)
        ours.restore(work / "restored")
        shutil.rmtree(work / "restored")
    print(json.dumps({"start_kib": start, "peak_kib": rss_kib()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=128, help="size of the generated tree (default 128)")
    parser.add_argument("--workdir", type=Path, default=None, help="where trees and repositories go")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--files", type=int, default=0, help="also measure peak memory for this many tiny files")
    parser.add_argument("--memory-probe", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe is not None:
        _memory_probe(args.memory_probe, args.workdir)
        return 0
    if args.files:
        with tempfile.TemporaryDirectory(prefix="chunk-bench-mem-", dir=args.workdir) as raw:
            memory = memory_per_file(Path(raw), args.files)
        for step in ("backup", "restore"):
            print(
                f"memory, {step} of {args.files} tiny files in a fresh process: started at "
                f"{memory[f'{step}_start_kib'] / 1024:.0f} MiB, peak {memory[f'{step}_peak_kib'] / 1024:.0f} MiB; "
                f"each file past {args.files // 4} added {memory[f'{step}_bytes_per_file']} bytes to the peak",
                flush=True,
            )
        if args.json is not None:
            args.json.write_text(json.dumps(memory, indent=2))
        return 0
    total = args.mib * MiB
    with tempfile.TemporaryDirectory(prefix="chunk-bench-", dir=args.workdir) as raw:
        work = Path(raw)
        pristine = work / "pristine"
        files, written = build_tree(pristine, total)
        print(f"tree: {files} files, {written / MiB:.0f} MiB (random bytes)", flush=True)
        base = baselines(pristine)
        print(
            f"baselines: cat > /dev/null {base['cat_devnull_s']:.2f} s, "
            f"tar | openssl dgst -sha256 {base['tar_openssl_sha256_s']:.2f} s",
            flush=True,
        )
        tree = work / "tree"
        rows: list[dict[str, Any]] = []
        for tool in (Ours(work), Restic(work), Borg(work)):
            if not tool.available():
                print(f"{tool.name}: not installed (apt-get install {tool.name}); skipped", flush=True)
                continue
            rows.append(bench_tool(tool, tree, pristine, work, written))
        ours = rows[0]
        result: dict[str, Any] = {
            "machine": machine(),
            "tree": {"files": files, "bytes": written},
            "baselines": base,
            "tools": rows,
            "ours_vs": {row["tool"]: ratios(ours, row) for row in rows[1:]},
            "ours_throughput_vs_openssl": {
                "first_backup": round(base["tar_openssl_sha256_s"] / ours["first_backup_s"], 2),
                "restore": round(base["tar_openssl_sha256_s"] / ours["restore_s"], 2),
            },
        }
        for name, values in result["ours_vs"].items():
            print(f"ours / {name}: " + ", ".join(f"{k} {v}" for k, v in values.items()), flush=True)
        print(
            f"ours: second backup added {ours['bytes_added'] / ours['changed_bytes']:.2f} x the changed bytes "
            "(goal <= 1.3)",
            flush=True,
        )
        if args.json is not None:
            args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
