"""LanceDB vector tables bound to the embedding model that queries them.

LanceDB is embedded (no server) and every write makes a new table version, so a
capture pins each table's version and reads exactly that version, whatever is
written meanwhile. Each capture records the embedding model's identity (name,
revision, dimension, normalisation, weights hash) and golden queries with their
top-k ids; a restore for a target serving another model is refused, and
verification re-runs the golden queries and reports the top-k overlap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.connectors.base import Capture, Connector, Snapshot, Verification, register, utcnow
from inventory.connectors.config import field_help
from inventory.connectors.errors import (
    ConfigInvalid,
    ConnectorRefused,
    EmbeddingMismatch,
    RestoreFailed,
    TargetNotEmpty,
    Unreachable,
)

SAMPLE_ALL_BELOW = 1000
MODEL_FIELDS = ("name", "revision", "dimension", "normalized", "weights_sha256")


@dataclass(frozen=True)
class VectorConfig:
    uri: str = field_help("Absolute path of the LanceDB database directory.")
    model_name: str = field_help("Name of the embedding model that produced (and queries) the vectors.")
    model_revision: str = field_help("Revision or version of that model.", default="")
    model_path: str = field_help("Absolute path of the model's weights (file or directory), hashed.", default="")
    normalized: bool = field_help("Whether the model's vectors are L2-normalised.", default=False)
    dimension: int = field_help("Vector dimension the model produces.", default=0)
    tables: tuple[str, ...] = field_help("Tables (collections) to capture; empty for all.", default=())
    dataset_version: str = field_help("Version of the dataset the index was built from.", default="")
    id_column: str = field_help("Column holding each row's id.", default="id")
    vector_column: str = field_help("Column holding the vectors.", default="vector")
    golden_queries: int = field_help("How many golden queries to record per table.", default=5)
    top_k: int = field_help("How many neighbours a golden query compares.", default=10)
    min_overlap: float = field_help("Least top-k overlap (0 to 1) a restore must show.", default=1.0)

    def check(self) -> None:
        if not self.uri.startswith("/"):
            raise ConfigInvalid("uri: give the absolute path of the LanceDB directory.")
        if self.model_path and not self.model_path.startswith("/"):
            raise ConfigInvalid("model_path: give an absolute path.")
        if not 0 <= self.min_overlap <= 1 or self.top_k < 1:
            raise ConfigInvalid("min_overlap must be between 0 and 1 and top_k at least 1.")

    def model_identity(self) -> dict[str, Any]:
        return {
            "name": self.model_name,
            "revision": self.model_revision,
            "dimension": self.dimension,
            "normalized": self.normalized,
            "weights_sha256": weights_hash(self.model_path) if self.model_path else "",
        }


def weights_hash(path: str) -> str:
    root = Path(path)
    if not root.exists():
        raise Unreachable(f"The embedding model weights {path} do not exist.")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    outer = hashlib.sha256()
    for item in files:
        inner = hashlib.sha256()
        with item.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                inner.update(chunk)
        outer.update(f"{item.relative_to(root) if root.is_dir() else item.name}:{inner.hexdigest()}\n".encode())
    return outer.hexdigest()


def _db(uri: str, *, must_exist: bool) -> Any:
    import lancedb

    if must_exist and not os.path.isdir(uri):
        raise Unreachable(f"The LanceDB directory {uri} does not exist.")
    return lancedb.connect(uri)


def _names(db: Any) -> list[str]:
    return sorted(db.list_tables().tables)


def _row_digest(row: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()


def table_facts(table: Any, cfg: VectorConfig, golden: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Row count, id and sampled-row checksums, dimension; golden queries recorded or re-run."""
    data = table.to_arrow()
    ids = [str(x) for x in data.column(cfg.id_column).to_pylist()]
    order = sorted(range(len(ids)), key=lambda i: hashlib.sha256(ids[i].encode()).hexdigest())
    picked = [i for i in order if len(ids) <= SAMPLE_ALL_BELOW or hashlib.sha256(ids[i].encode()).hexdigest()[0] == "0"]
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


@register
class VectorConnector(Connector[VectorConfig]):
    kind = "vector"
    label = "Vector index (LanceDB)"
    config_class = VectorConfig

    def snapshot(self, staging: Path) -> Snapshot:
        import pyarrow as pa

        cfg = self.config
        db = _db(cfg.uri, must_exist=True)
        names = [n for n in _names(db) if not cfg.tables or n in cfg.tables]
        started = utcnow()
        tables = {name: db.open_table(name) for name in names}
        pinned = {name: table.version for name, table in tables.items()}
        facts: dict[str, Any] = {}
        (staging / "tables").mkdir()
        for name, table in tables.items():
            table.checkout(pinned[name])  # later writes make new versions; this one stays as it was
            with pa.OSFile(str(staging / "tables" / f"{name}.arrow"), "wb") as sink:
                data = table.to_arrow()
                with pa.ipc.new_file(sink, data.schema) as writer:
                    writer.write_table(data)
            facts[name] = {"version": pinned[name], **table_facts(table, cfg)}
        model = cfg.model_identity()
        dims = {f["dimension"] for f in facts.values() if f["rows"]}
        if model["dimension"] and dims - {model["dimension"]}:
            raise EmbeddingMismatch(
                f"The model {cfg.model_name} makes {model['dimension']}-d vectors but the "
                f"tables hold {sorted(dims)}-d ones: the index was not built with this model."
            )
        model["dimension"] = model["dimension"] or (dims.pop() if len(dims) == 1 else 0)
        details = {"uri": cfg.uri, "model": model, "dataset_version": cfg.dataset_version, "tables": facts}
        return Snapshot(source=self.staged(staging), capture=Capture(self.kind, started, details))

    def check_model(self, capture: Capture, cfg: VectorConfig) -> None:
        captured = capture.details.get("model", {})
        current = cfg.model_identity()
        current["dimension"] = current["dimension"] or captured.get("dimension")
        differ = [
            f"{k}: index built with {captured.get(k)!r}, target serves {current.get(k)!r}"
            for k in MODEL_FIELDS
            if captured.get(k) != current.get(k)
        ]
        if differ:
            raise EmbeddingMismatch(
                "The embedding model of the target is not the one this index was built with ("
                + "; ".join(differ)
                + "). Restore the matching model first in the same run, or rebuild the index."
            )

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        import pyarrow as pa

        self.check_capture(capture)
        cfg: VectorConfig = self.parse(target)
        if cfg.uri == self.config.uri and not replace:
            raise ConnectorRefused("The target is the source database itself; restore over it only with replace.")
        self.check_model(capture, cfg)
        db = _db(cfg.uri, must_exist=False)
        present = set(_names(db))
        busy = [n for n in capture.details["tables"] if n in present and db.open_table(n).count_rows()]
        if busy and not replace:
            raise TargetNotEmpty(
                f"The target {cfg.uri} already holds rows in {', '.join(busy)}; restore only with replace."
            )
        for name, expected in capture.details["tables"].items():
            with pa.memory_map(str(restored / "tables" / f"{name}.arrow")) as source:
                data = pa.ipc.open_file(source).read_all()
            previous = db.open_table(name).version if name in present else None
            # Overwrite makes a new version: the old rows stay as the previous version until verified.
            table = db.create_table(name, data=data, mode="overwrite" if name in present else "create")
            problems = self._compare(name, expected, table_facts(table, cfg, _queries(expected)), cfg)
            if problems.failures:
                if previous is None:
                    db.drop_table(name)
                else:
                    table.restore(previous)
                raise RestoreFailed(f"The restored table {name} does not match the capture: {problems.summary()}")

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: VectorConfig = self.parse(target)
        report = Verification(self.kind)
        try:
            self.check_model(capture, cfg)
            report.add("embedding model", "matches", "matches")
        except EmbeddingMismatch as exc:
            report.add("embedding model", "matches", str(exc))
        db = _db(cfg.uri, must_exist=True)
        present = set(_names(db))
        for name, expected in capture.details.get("tables", {}).items():
            if report.add(f"{name} present", True, name in present).ok:
                found = table_facts(db.open_table(name), cfg, _queries(expected))
                sub = self._compare(name, expected, found, cfg)
                report.checks.extend(sub.checks)
                report.notes.extend(sub.notes)
                for key, value in sub.facts.items():
                    report.facts.setdefault(key, {}).update(value)
        return report

    def _compare(self, name: str, want: dict[str, Any], got: dict[str, Any], cfg: VectorConfig) -> Verification:
        report = Verification(self.kind)
        for key in ("rows", "dimension", "ids_checksum", "sample_checksum"):
            report.add(f"{name} {key.replace('_', ' ')}", want[key], got[key])
        overlaps = [
            len(set(w["top_k"]) & set(g["top_k"])) / max(len(w["top_k"]), 1)
            for w, g in zip(want["golden"], got["golden"], strict=True)
        ]
        least = min(overlaps, default=1.0)
        report.add(
            f"{name} golden top-{cfg.top_k} overlap at least {cfg.min_overlap:g}", True, least >= cfg.min_overlap
        )
        mean = sum(overlaps) / len(overlaps) if overlaps else 1.0
        report.notes.append(
            f"{name}: {len(overlaps)} golden queries, top-{cfg.top_k} overlap mean {mean:.2f}, min {least:.2f}"
        )
        report.facts.setdefault("top_k_overlap", {})[name] = {
            "k": cfg.top_k,
            "queries": len(overlaps),
            "mean": round(mean, 4),
            "min": round(least, 4),
            "required": cfg.min_overlap,
        }
        return report

    def cleanup(self, *, target: object) -> None:
        cfg: VectorConfig = self.parse(target)
        if cfg.uri == self.config.uri:
            raise ConnectorRefused("Clean-up removes a drill target; it will not drop the source tables.")
        if not os.path.isdir(cfg.uri):
            return
        db = _db(cfg.uri, must_exist=True)
        for name in _names(db):
            if not cfg.tables or name in cfg.tables:
                db.drop_table(name)
        if not any(Path(cfg.uri).iterdir()):
            shutil.rmtree(cfg.uri)

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any]:
        return {**self.config_json(), "uri": str(root / "lancedb")}

    def target_label(self, config: Any) -> str:
        cfg: VectorConfig = self.parse(config)
        return f"LanceDB {cfg.uri} (model {cfg.model_name})"

    def describe(self, capture: Capture) -> str:
        tables = capture.details.get("tables", {})
        model = capture.details.get("model", {})
        rows = sum(t["rows"] for t in tables.values())
        return f"{len(tables)} tables, {rows} vectors; model {model.get('name')} {model.get('revision')}"


def _queries(expected: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": q["id"], "vector": q["vector"]} for q in expected.get("golden", [])]
