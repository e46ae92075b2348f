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

from inventory.connectors._files import refuse_source_path, refuse_target_path, remove, swap_in
from inventory.connectors.base import (
    DISCOVER_LIMIT,
    Capture,
    Connector,
    Discovery,
    Snapshot,
    Verification,
    register,
    tables_text,
    utcnow,
)
from inventory.connectors.config import field_help
from inventory.connectors.errors import (
    ConfigInvalid,
    ConnectorRefused,
    EmbeddingMismatch,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
)
from inventory.connectors.vector_facts import measure
from inventory.connectors.vector_files import copy_table, link_version
from inventory.paths import path_shape_refusal

FILES = "lance-tables"  # the snapshot's folder of table directories (older points hold tables/<name>.arrow)
STAGED = ".drp-new"  # a restore's tables, beside the target's, until they are verified
MODEL_FIELDS = ("name", "revision", "dimension", "normalized", "weights_sha256")


@dataclass(frozen=True)
class VectorConfig:
    uri: str = field_help("Absolute path of the LanceDB database directory.")
    model_name: str = field_help("Name of the embedding model that produced (and queries) the vectors.")
    model_revision: str = field_help("Revision or version of that model.", default="")
    model_path: str = field_help("Absolute path of the model's weights (file or directory), hashed.", default="")
    normalized: bool = field_help("Whether the model's vectors are L2-normalised.", default=False)
    dimension: int = field_help(
        "Vector dimension the model produces.", default=0, limits={"minimum": 0, "maximum": 65536}
    )
    tables: tuple[str, ...] = field_help("Tables (collections) to capture; empty for all.", default=())
    dataset_version: str = field_help("Version of the dataset the index was built from.", default="")
    id_column: str = field_help("Column holding each row's id.", default="id")
    vector_column: str = field_help("Column holding the vectors.", default="vector")
    golden_queries: int = field_help(
        "How many golden queries to record per table.", default=5, limits={"minimum": 0, "maximum": 1000}
    )
    top_k: int = field_help(
        "How many neighbours a golden query compares.", default=10, limits={"minimum": 1, "maximum": 10000}
    )
    min_overlap: float = field_help(
        "Least top-k overlap (0 to 1) a restore must show.", default=1.0, limits={"minimum": 0, "maximum": 1}
    )

    def check(self) -> None:
        if not self.uri.startswith("/"):
            raise ConfigInvalid("uri: give the absolute path of the LanceDB directory.")
        if self.model_path and not self.model_path.startswith("/"):
            raise ConfigInvalid("model_path: give an absolute path.")
        for name, path in (("uri", self.uri), ("model_path", self.model_path)):
            why = path_shape_refusal(path) if path else None
            if why:
                raise ConfigInvalid(f"{name}: {why}")
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


@register
class VectorConnector(Connector[VectorConfig]):
    kind = "vector"
    label = "Vector index (LanceDB)"
    config_class = VectorConfig
    system_fields = ("uri",)
    scope_field = "tables"

    def source_paths(self) -> list[str]:
        return [path for path in (self.config.uri, self.config.model_path) if path]

    def _refuse_sources(self) -> None:
        refuse_source_path(self.config.uri, field="uri")
        if self.config.model_path:
            refuse_source_path(self.config.model_path, field="model_path")

    def snapshot(self, staging: Path) -> Snapshot:
        cfg = self.config
        self._refuse_sources()
        db = _db(cfg.uri, must_exist=True)
        names = [n for n in _names(db) if not cfg.tables or n in cfg.tables]
        started = utcnow()
        pinned = {name: db.open_table(name).version for name in names}
        facts: dict[str, Any] = {}
        copy = staging / FILES
        for name in names:
            # Later writes make new versions; the pinned one's files are final, so links to them hold it.
            link_version(Path(cfg.uri) / f"{name}.lance", copy / f"{name}.lance", pinned[name])
            table = _db(str(copy), must_exist=True).open_table(name)
            if table.version != pinned[name]:
                raise SourceChanged(f"The copy of {name} opens at version {table.version}, not {pinned[name]}.")
            facts[name] = {"version": pinned[name], **measure(table, cfg)}
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

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: VectorConfig = self.parse(target)
        if not os.path.isdir(cfg.uri):
            return
        db = _db(cfg.uri, must_exist=False)
        present = set(_names(db))
        busy = [n for n in capture.details["tables"] if n in present and db.open_table(n).count_rows()]
        for name in busy:
            self.ledger.found_before("table", name, "it held rows before this run")
        if busy:
            raise TargetNotEmpty(
                f"The target {cfg.uri} already holds rows in {', '.join(busy)}; restore only with replace."
            )

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        import pyarrow as pa

        self.check_capture(capture)
        cfg: VectorConfig = self.parse(target)
        refuse_target_path(cfg.uri)
        if cfg.uri == self.config.uri and not replace:
            raise ConnectorRefused("The target is the source database itself; restore over it only with replace.")
        self.check_model(capture, cfg)
        fresh_folder = not os.path.isdir(cfg.uri)
        db = _db(cfg.uri, must_exist=False)
        present = set(_names(db))
        if not replace:
            self.refuse_full_target(cfg, capture)
        if not replace:  # recorded before they are made: clean-up removes these and nothing else
            if fresh_folder:
                self.ledger.created("folder", [cfg.uri])
            self.ledger.created("table", list(capture.details["tables"]))
        if (restored / FILES).is_dir():
            self._restore_files(restored / FILES, capture, cfg)
            return
        for name, expected in capture.details["tables"].items():  # points taken as Arrow files
            with pa.memory_map(str(restored / "tables" / f"{name}.arrow")) as source:
                data = pa.ipc.open_file(source).read_all()
            previous = db.open_table(name).version if name in present else None
            # Overwrite makes a new version: the old rows stay as the previous version until verified.
            table = db.create_table(name, data=data, mode="overwrite" if name in present else "create")
            problems = self._compare(name, expected, measure(table, cfg, expected), cfg)
            if problems.failures:
                if previous is None:
                    db.drop_table(name)
                else:
                    table.restore(previous)
                raise RestoreFailed(f"The restored table {name} does not match the capture: {problems.summary()}")

    def _restore_files(self, files: Path, capture: Capture, cfg: VectorConfig) -> None:
        """Every table is staged beside the target and checked; only then are they swapped in, all together."""
        staged = Path(cfg.uri) / STAGED
        remove(staged)
        try:
            for name, expected in capture.details["tables"].items():
                if not (files / f"{name}.lance").is_dir():
                    raise RestoreFailed(f"The restored point has no files for the table {name}.")
                self.say(f"copying and checking table {name} before it goes in")
                copy_table(files / f"{name}.lance", staged / f"{name}.lance")
                table = _db(str(staged), must_exist=True).open_table(name)
                problems = self._compare(name, expected, measure(table, cfg, expected), cfg)
                if problems.failures:
                    raise RestoreFailed(f"The restored table {name} does not match the capture: {problems.summary()}")
            self.say("putting the restored tables in place")
            for name in capture.details["tables"]:
                swap_in(staged / f"{name}.lance", Path(cfg.uri) / f"{name}.lance")
        finally:
            remove(staged)

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: VectorConfig = self.parse(target)
        refuse_target_path(cfg.uri)
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
                found = measure(db.open_table(name), cfg, expected)
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
        refuse_target_path(cfg.uri)
        if cfg.uri == self.config.uri:
            raise ConnectorRefused("Clean-up removes a drill target; it will not drop the source tables.")
        tables, folders = self.ledger.names("table"), self.ledger.names("folder")
        if not os.path.isdir(cfg.uri) or not (tables or folders):
            for name in tables + folders:
                self.ledger.removed("table" if name in tables else "folder", name)
            return
        db = _db(cfg.uri, must_exist=True)
        present = set(_names(db))
        for name in tables:  # only the tables this restore wrote
            if name in present:
                db.drop_table(name)
            self.ledger.removed("table", name)
        remove(Path(cfg.uri) / STAGED)
        for folder in folders:
            if not any(Path(folder).iterdir()):
                shutil.rmtree(folder)
                self.ledger.removed("folder", folder)
            else:
                self.ledger.kept("folder", folder, "it holds tables this run did not write")

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any]:
        return {**self.config_json(), "uri": str(root / "lancedb")}

    def target_label(self, config: Any) -> str:
        cfg: VectorConfig = self.parse(config)
        return f"LanceDB {cfg.uri}" + (f" (model {cfg.model_name})" if cfg.model_name else "")

    def target_paths(self, config: Any) -> list[Path]:
        return [Path(self.parse(config).uri)]

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """One proposal per table (the first ``limit`` by name): rows, dimension, model and labels it
        records; the look takes DISCOVER_TIMEOUT seconds at most (see vector_discover)."""
        from inventory.connectors.vector_discover import discover_within

        self._refuse_sources()
        uri = self.config.uri
        return discover_within(lambda: _db(uri, must_exist=True), _names, self.config, self.config_json(), limit)

    def describe(self, capture: Capture) -> str:
        tables = capture.details.get("tables", {})
        model = capture.details.get("model", {})
        rows = sum(t["rows"] for t in tables.values())
        head = f"{len(tables)} vector table{'s' if len(tables) != 1 else ''}, {rows:,} vectors"
        shown = tables_text(tables, unit="vectors")
        facts = [
            f"revision {model.get('revision')}" if model.get("revision") else "",
            f"{model.get('dimension')} dimensions" if model.get("dimension") else "",
            "normalised" if model.get("normalized") else "",
        ]
        extra = ", ".join(f for f in facts if f)
        return f"{head}: {shown}; embedding model {model.get('name')}" + (f" ({extra})" if extra else "")
