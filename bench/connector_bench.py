"""Snapshot and restore throughput per connector, against the system's own tool alone.

For each connector: build a source of about ``--mib`` MiB, then time
  native   the system's own export, hashed (SQLite backup API + SHA-256; ``pg_dump -Fc | sha256``;
           for LanceDB two rows: ``copy``, a copy of the folder with every file hashed, and
           ``export``, the table read into Arrow and written as an Arrow IPC file, hashed;
           a copy of the MLflow artifact folder + SHA-256),
  backup   connector snapshot + the chunk store (chunked, compressed, encrypted, into a folder vault),
           also shown split: ``snap s`` the connector's snapshot and facts, ``store s`` the chunk store,
  restore  the chunk store back to files + the connector's restore and verify into a fresh target,
  native restore  the system's own tool putting its native backup back (bench/native_restore.py).
Throughput is source bytes / seconds; the goal (issue 14) is 0.6 of native for backup (``ratio``) and restore
(``restore ratio``). ``cpu ratio``, ``restore cpu ratio``: native CPU seconds / ours (this process and the children
it waited for, not the servers'): the work each did, which a loaded machine distorts far less than wall-clock time.

    python -m bench.connector_bench [--mib 64] [--vectors 100000] [--versions 100] [--mlflow-mib 100]
                                    [--mlflow-version-mib 10] [--mlflow-ports 8150,8151,8152] [--mlflow-cold]
                                    [--only sqlite,postgres,vector,mlflow]

PostgreSQL is used when ``postgresql://postgres@127.0.0.1:5432`` answers (scratch databases
named ``<--pg-prefix>_*``, ``dr_bench_*`` by default, are dropped at the end); otherwise that
row is skipped. MLflow runs two ``mlflow server`` processes from ``.venv-mlflow`` on loopback (skipped without it),
and a third for mlflow-export-import to import into when ``.venv-mlflow-peer`` is installed (``bench/mlflow_bench.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import native_restore

MiB = 1024 * 1024


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


class Seconds(float):
    """Wall-clock seconds of a call; ``cpu`` is the CPU time it used (this process and the children it waited for)."""

    cpu: float = 0.0


# Source bytes, the native baselines' seconds by label ("" when a kind has one), backup and restore seconds.
Result = tuple[int, dict[str, Seconds], Seconds, Seconds]


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn: Callable[[], Any]) -> Seconds:
    started, cpu = time.perf_counter(), _cpu()
    fn()
    took = Seconds(time.perf_counter() - started)
    took.cpu = _cpu() - cpu
    return took


class Store:
    """A folder vault and a key, as the portal uses them."""

    def __init__(self, root: Path) -> None:
        from inventory.engine import FilesystemVault, KeyRing, generate_key_file

        self.root = root
        self.vault = FilesystemVault(root / "vault")
        self.keyring = KeyRing.from_file(generate_key_file(root / "keys", key_id="bench"))
        self.count = 0
        self.phases: tuple[float, float] = (0.0, 0.0)  # snapshot, chunk store of the last backup
        self.native_restores: dict[str, Seconds] = {}  # by the label of the native backup each puts back

    def backup(self, connector: Any) -> tuple[Any, Any]:
        from inventory.connectors import Capture, staging_dir
        from inventory.connectors.base import utcnow
        from inventory.engine import backup_chunked

        self.count += 1
        with staging_dir(self.root) as staging:
            started = time.perf_counter()
            snap = connector.snapshot(staging)
            snapped = time.perf_counter()
            manifest = backup_chunked(
                source=snap.source,
                vault=self.vault,
                point_prefix=f"points/p{self.count}",
                keyring=self.keyring,
                key_id="bench",
                retain_until=utcnow() + timedelta(days=1),
                data_as_of=snap.capture.data_as_of,
                extra={"capture": snap.capture.to_json()},
            )
            self.phases = (snapped - started, time.perf_counter() - snapped)
        return Capture.from_json(manifest.extra["capture"]), manifest

    def restore(self, connector: Any, capture: Any, manifest: Any, target: dict[str, Any]) -> None:
        from inventory.engine import restore_tree

        files = self.root / f"restored-{uuid.uuid4().hex[:6]}"
        restore_tree(vault=self.vault, manifest=manifest, target_dir=files, keyring=self.keyring)
        connector.restore(restored=files, capture=capture, target=target)
        report = connector.verify(capture=capture, target=target)
        if not report.ok:
            raise SystemExit(f"{connector.kind}: the restore did not verify: {report.summary()}")
        shutil.rmtree(files)


def bench_sqlite(root: Path, store: Store, mib: int) -> Result:
    from inventory.connectors import get_connector

    path = root / "source.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE feature (id INTEGER PRIMARY KEY, customer TEXT, score REAL, blob BLOB)")
        rows = mib * MiB // 1100
        db.executemany(
            "INSERT INTO feature VALUES (?, ?, ?, ?)",
            ((i, f"customer-{i}", i / 7, os.urandom(512) + b"\0" * 512) for i in range(rows)),
        )
    size = path.stat().st_size

    def native() -> None:
        copy = root / "native.sqlite3"
        src, dst = sqlite3.connect(path), sqlite3.connect(copy)
        src.backup(dst, pages=-1)
        src.close()
        dst.close()
        _sha256_file(copy)
        copy.unlink()

    connector = get_connector("sqlite", {"path": str(path)})
    holder: dict[str, Any] = {}
    backup = _timed(lambda: holder.update(zip(("capture", "manifest"), store.backup(connector), strict=True)))
    target = {"path": str(root / "restored.sqlite3")}
    restore = _timed(lambda: store.restore(connector, holder["capture"], holder["manifest"], target))
    store.native_restores[""] = _timed(native_restore.sqlite(root, path))
    return size, {"": _timed(native)}, backup, restore


def bench_postgres(root: Path, store: Store, mib: int, prefix: str = "dr_bench") -> Result | None:
    import psycopg

    from inventory.connectors import get_connector

    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError:
        return None
    source, target = f"{prefix}_{uuid.uuid4().hex[:8]}", f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{source}"')
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{source}") as db:
            db.execute("CREATE TABLE feature (id bigint PRIMARY KEY, customer text, score float8, payload text)")
            rows = mib * MiB // 600
            db.execute(
                "INSERT INTO feature SELECT g, 'customer-' || g, g / 7.0,"
                " md5(g::text) || repeat(md5((g * 7)::text), 12) FROM generate_series(1, %s) g",
                (rows,),
            )
            size = int(db.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]

        def native() -> None:
            dump = subprocess.Popen(
                ["pg_dump", "-Fc", "-h", "127.0.0.1", "-U", "postgres", "-d", source], stdout=subprocess.PIPE
            )
            assert dump.stdout is not None
            digest = hashlib.sha256()
            while block := dump.stdout.read(MiB):
                digest.update(block)
            if dump.wait() != 0:
                raise SystemExit("pg_dump failed")

        connector = get_connector("postgres", {"dbname": source})
        holder: dict[str, Any] = {}
        backup = _timed(lambda: holder.update(zip(("capture", "manifest"), store.backup(connector), strict=True)))
        restore = _timed(lambda: store.restore(connector, holder["capture"], holder["manifest"], {"dbname": target}))
        store.native_restores[""] = _timed(native_restore.postgres(root, source, f"{target}_native"))
        return size, {"": _timed(native)}, backup, restore
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for name in (source, target, f"{target}__drp_new", f"{target}_native"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_vector(root: Path, store: Store, vectors: int) -> Result:
    import lancedb
    import numpy as np

    from inventory.connectors import get_connector

    uri = root / "lance"
    rng = np.random.default_rng(7)
    db = lancedb.connect(str(uri))
    batch = 50_000
    for start in range(0, vectors, batch):
        count = min(batch, vectors - start)
        data = rng.standard_normal((count, 128)).astype("float32")
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        rows = [
            {"id": f"v{start + i}", "vector": data[i].tolist(), "document": f"doc {start + i}"} for i in range(count)
        ]
        if start == 0:
            table = db.create_table("items", data=rows)
        else:
            table.add(rows)
    size = _tree_bytes(uri)

    def native_copy() -> None:
        copy = root / "lance-copy"
        shutil.copytree(uri, copy)
        for item in sorted(copy.rglob("*")):
            if item.is_file():
                _sha256_file(item)
        shutil.rmtree(copy)

    def native_export() -> None:
        """LanceDB's own export: the table read into Arrow, written as an Arrow IPC file, hashed."""
        import pyarrow as pa

        data = lancedb.connect(str(uri)).open_table("items").to_arrow()
        out = root / "export.arrow"
        with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
            writer.write_table(data)
        _sha256_file(out)
        out.unlink()

    config = {"uri": str(uri), "model_name": "bench-random", "normalized": True, "dimension": 128, "min_overlap": 0.9}
    connector = get_connector("vector", config)
    holder: dict[str, Any] = {}
    backup = _timed(lambda: holder.update(zip(("capture", "manifest"), store.backup(connector), strict=True)))
    target = {**config, "uri": str(root / "lance-restored")}
    restore = _timed(lambda: store.restore(connector, holder["capture"], holder["manifest"], target))
    store.native_restores.update({k: _timed(fn) for k, fn in native_restore.vector(root, uri, "items").items()})
    return size, {"copy": _timed(native_copy), "export": _timed(native_export)}, backup, restore


def _ratio(native: float, backup: float) -> str:
    """Native CPU seconds / backup CPU seconds: the work each did, whatever else ran on the machine."""
    native_cpu, backup_cpu = getattr(native, "cpu", 0.0), getattr(backup, "cpu", 0.0)
    return f"{native_cpu / backup_cpu:.2f}" if backup_cpu > 0 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="size of the SQLite and PostgreSQL sources")
    parser.add_argument("--vectors", type=int, default=100_000, help="rows of the LanceDB table (128-d)")
    parser.add_argument("--versions", type=int, default=100, help="model versions of the MLflow registry")
    parser.add_argument("--mlflow-mib", type=int, default=100, help="MiB of artifacts across those versions")
    parser.add_argument("--mlflow-version-mib", type=float, default=0, help="MiB per version (instead of --mlflow-mib)")
    parser.add_argument(
        "--mlflow-ports",
        default="",
        help="three loopback ports for the MLflow servers (source, portal's target, peer's), e.g. 8150,8151,8152",
    )
    parser.add_argument("--mlflow-cold", action="store_true", help="time the MLflow servers' first requests too")
    parser.add_argument("--only", default="sqlite,postgres,vector,mlflow")
    parser.add_argument("--pg-prefix", default="dr_bench", help="prefix of the scratch PostgreSQL databases")
    args = parser.parse_args()
    from bench.mlflow_bench import bench_mlflow  # it uses this module's helpers

    wanted = set(args.only.split(","))
    given = [int(p) for p in args.mlflow_ports.split(",") if p]
    if given and len(given) != 3:
        parser.error("--mlflow-ports takes three ports, e.g. 8150,8151,8152")
    mlflow_ports = (given[0], given[1], given[2]) if given else None
    header = ("connector", "source MiB", "native MiB/s", "backup MiB/s", "ratio", "restore MiB/s", "snap s", "store s")
    print(
        f"{header[0]:<16} {header[1]:>10} {header[2]:>13} {header[3]:>13} {header[4]:>6} {header[5]:>14}"
        f" {header[6]:>7} {header[7]:>7} {'cpu ratio':>9}{native_restore.HEADER}   load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="drp-connector-bench-") as tmp:
        from django.conf import settings

        # The bench's sources live in its own scratch folder: let connectors read there, as an
        # operator lists a system's folder in SOURCE_ROOTS.
        settings.SOURCE_ROOTS = [*settings.SOURCE_ROOTS, Path(tmp).resolve()]
        runs: dict[str, Callable[[Path, Store], Any]] = {
            "sqlite": lambda root, store: bench_sqlite(root, store, args.mib),
            "postgres": lambda root, store: bench_postgres(root, store, args.mib, args.pg_prefix),
            "vector": lambda root, store: bench_vector(root, store, args.vectors),
            "mlflow": lambda root, store: bench_mlflow(
                root,
                store,
                args.versions,
                args.mlflow_mib,
                mlflow_ports,
                warm=not args.mlflow_cold,
                version_mib=args.mlflow_version_mib,
            ),
        }
        for name, run in runs.items():
            if name not in wanted:
                continue
            root = Path(tmp) / name
            root.mkdir()
            root_store = Store(root)
            result = run(root, root_store)
            if result is None:
                print(f"{name:<16} skipped (no server{'; make mlflow-venv' if name == 'mlflow' else ''})")
                continue
            size, natives, backup, restore = result
            mib_size = size / MiB
            snap, stored = root_store.phases
            for label, native in natives.items():
                row, again = f"{name} ({label})" if label else name, root_store.native_restores.get(label)
                print(
                    f"{row:<16} {mib_size:>10.1f} {mib_size / native:>13.1f} {mib_size / backup:>13.1f} "
                    f"{native / backup:>6.2f} {mib_size / restore:>14.1f} {snap:>7.2f} {stored:>7.2f}"
                    f" {_ratio(native, backup):>9}{native_restore.columns(mib_size, again, restore)}"
                    f"   load {os.getloadavg()[0]:.2f}"
                )


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    django.setup()
    main()
