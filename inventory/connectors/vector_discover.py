"""What a LanceDB folder holds, as proposals: one per table, with what each table says of itself.

Per table, without reading a row: the row count (from the table's manifest), the vector
column and its dimension (a fixed-size list of floats in the schema), and from the schema's
metadata (or the vector field's, which wins):

- the embedding model: ``embedding_model``, ``embedding_model_revision``,
  ``embedding_normalized``; else LanceDB's own ``embedding_functions`` entry for the vector
  column (what ``create_table(embedding_functions=...)`` writes): its model's name,
  revision and ``normalize``;
- ``dataset_version``;
- labels: ``name``, ``title`` (or ``description``), ``tier``, ``team``, ``owner``.

A table that records no model takes the one named in the discovery form; with neither it is
shown but cannot be added (an index must be bound to the model that queries it).

A look is bounded like the server kinds' are: at most ``limit`` tables, and DISCOVER_TIMEOUT
seconds in all. LanceDB is a library reading local files, with no socket timeout to set, so
the look runs on a worker thread and the caller waits that long for it. Past the deadline the
page gets the tables read by then (and says so), or an error if not even the list of tables
came back; the worker is abandoned and stops before its next table. It only ever reads, and
what it reads after the deadline is thrown away: a proposal joins the answer under a lock,
and only while the caller is still waiting.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inventory.connectors.base import DISCOVER_TIMEOUT, Discovery, Proposal, seconds_text
from inventory.connectors.errors import ConnectorError, Unreachable

if TYPE_CHECKING:
    from inventory.connectors.vector import VectorConfig

LABELS = ("tier", "team")


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def vector_columns(schema: Any) -> dict[str, int]:
    """``{column: dimension}`` of every fixed-size list of floats."""
    import pyarrow as pa

    return {
        f.name: f.type.list_size
        for f in schema
        if pa.types.is_fixed_size_list(f.type) and pa.types.is_floating(f.type.value_type)
    }


def table_metadata(schema: Any, vector_column: str) -> dict[str, str]:
    """The schema's metadata, then the vector field's over it, as text."""
    out = {_text(k): _text(v) for k, v in (schema.metadata or {}).items()}
    if vector_column in schema.names:
        out.update({_text(k): _text(v) for k, v in (schema.field(vector_column).metadata or {}).items()})
    return out


def _flag(value: Any) -> bool | None:
    """True/False as recorded, None when not recorded."""
    if value is None or value == "":
        return None
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def recorded_model(meta: dict[str, str], vector_column: str) -> tuple[dict[str, Any], str]:
    """The model a table records (name, revision, normalized or None) and where it was read; empty if none."""
    if meta.get("embedding_model"):
        return {
            "name": meta["embedding_model"],
            "revision": meta.get("embedding_model_revision", ""),
            "normalized": _flag(meta.get("embedding_normalized")),
        }, "table metadata"
    try:
        functions = json.loads(meta.get("embedding_functions") or "[]")
    except ValueError:
        return {}, ""
    if not isinstance(functions, list):
        return {}, ""
    for item in functions:
        if not isinstance(item, dict) or item.get("vector_column", vector_column) != vector_column:
            continue
        found = item.get("model")
        model: dict[str, Any] = found if isinstance(found, dict) else {}
        name = next((str(model[k]) for k in ("name", "model_name", "model", "model_id") if model.get(k)), "")
        if name:
            return {
                "name": name,
                "revision": str(model.get("revision") or ""),
                "normalized": _flag(model.get("normalize", model.get("normalized"))),
            }, f"LanceDB embedding function {item.get('name') or '?'}"
    return {}, ""


def _asset_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:100]


def propose_table(db: Any, name: str, cfg: VectorConfig, base: dict[str, Any]) -> Proposal:
    """One table as a proposal; ``base`` is the discovery form's configuration."""
    asset = _asset_name(f"{Path(cfg.uri).name}-{name}")
    source = str(Path(cfg.uri) / f"{name}.lance")
    try:
        table = db.open_table(name)
        schema, rows = table.schema, table.count_rows()
    except (OSError, ValueError, RuntimeError) as exc:
        problem = f"The table cannot be opened: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}."
        return Proposal(asset, "vector", {**base, "tables": [name]}, labels={"table": name}, problem=problem,
                        source=source)  # fmt: skip
    vectors = vector_columns(schema)
    column = cfg.vector_column if cfg.vector_column in vectors else (next(iter(vectors)) if len(vectors) == 1 else "")
    dimension = vectors.get(column, 0)
    meta = table_metadata(schema, column)
    model, where = recorded_model(meta, column)
    config: dict[str, Any] = {**base, "tables": [name], "vector_column": column or cfg.vector_column}
    if model and model["name"] != cfg.model_name:
        # The table's own model wins; the form's weights and revision belong to another model.
        config.update(model_name=model["name"], model_revision=model["revision"], model_path="")
        config["normalized"] = bool(model["normalized"])
    elif model:
        config["model_revision"] = model["revision"] or cfg.model_revision
        config["normalized"] = cfg.normalized if model["normalized"] is None else model["normalized"]
    else:
        where = "discovery form" if cfg.model_name else ""
    if meta.get("dataset_version"):
        config["dataset_version"] = meta["dataset_version"]
    problem = ""
    if not column:
        problem = (
            f"The table has vector columns {', '.join(sorted(vectors))}; "
            "name one in Vector column (under More settings) and look again."
            if vectors
            else "The table has no vector column (a fixed-size list of floats)."
        )
    elif cfg.id_column not in schema.names:
        problem = (
            f"The table has no {cfg.id_column} column; "
            "name its id column in Id column (under More settings) and look again."
        )
    elif not config["model_name"]:
        problem = "The table does not record its embedding model; name it in Model name and look again."
    elif where == "discovery form" and cfg.dimension and dimension and cfg.dimension != dimension:
        problem = f"The table holds {dimension}-d vectors but {cfg.model_name} makes {cfg.dimension}-d ones."
    if dimension and not problem:
        config["dimension"] = dimension
    labels = {"table": name, "rows": str(rows), "dimension": str(dimension)}
    if config["model_name"]:
        labels["model"] = config["model_name"] + (
            f"@{config['model_revision']}" if config.get("model_revision") else ""
        )
        labels["model_from"] = where
    labels.update({k: meta[k] for k in LABELS if meta.get(k)})
    title = (meta.get("title") or meta.get("description") or "").strip().splitlines()
    return Proposal(
        name=_asset_name(meta["name"]) if meta.get("name") else asset,
        kind="vector",
        config=config,
        owner=meta.get("owner", ""),
        labels=labels,
        title=title[0] if title else "",
        problem=problem,
        source=source,
    )


class _Look:
    """One look's shared state: the worker adds to it only while the caller still waits."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.names: list[str] | None = None
        self.found: list[Proposal] = []
        self.error: Exception | None = None

    def keep(self, *, names: list[str] | None = None, proposal: Proposal | None = None,
             error: Exception | None = None) -> bool:  # fmt: skip
        """Record what the worker read, unless the caller gave up; False when it did (the worker then stops)."""
        with self.lock:
            if self.abandoned:
                return False
            if names is not None:
                self.names = names
            if proposal is not None:
                self.found.append(proposal)
            if error is not None:
                self.error = error
            return True


def discover_within(
    open_db: Callable[[], Any], list_names: Callable[[Any], list[str]], cfg: VectorConfig, base: dict[str, Any],
    limit: int, *, timeout: float | None = None,
) -> Discovery:  # fmt: skip
    """One proposal per table of the first ``limit`` (``propose_table``), read on a worker thread
    that is waited for ``timeout`` (DISCOVER_TIMEOUT) seconds at most."""
    seconds = DISCOVER_TIMEOUT if timeout is None else timeout
    look = _Look()

    def work() -> None:
        try:
            db = open_db()
            names = list_names(db)
            if not look.keep(names=names):
                return
            for name in names[:limit]:
                if not look.keep(proposal=propose_table(db, name, cfg, base)):
                    return
        except Exception as exc:  # handed to the caller, which raises it
            look.keep(error=exc)

    worker = threading.Thread(target=work, name="drp-lancedb-look", daemon=True)
    worker.start()
    worker.join(seconds)
    with look.lock:
        look.abandoned = worker.is_alive()
        names, found, error = look.names, list(look.found), look.error
    if error is not None:
        if isinstance(error, ConnectorError):
            raise error
        first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise Unreachable(f"The LanceDB directory {cfg.uri} cannot be read: {first}.")
    if names is None:
        raise Unreachable(
            f"Listing the tables of the LanceDB directory {cfg.uri} took longer than {seconds_text(seconds)}, "
            "the most a look waits; nothing was proposed."
        )
    discovery = Discovery.first(found, limit=limit, total=len(names), things="tables")
    shown = min(limit, len(names))
    if look.abandoned and len(found) < shown:  # (the worker may be past its last table, and stopping)
        discovery.bounded = (
            f"Reading the tables took longer than {seconds_text(seconds)}, the most a look waits: "
            f"showing the {len(found)} of {len(names)} tables read by then"
            + (f" (a look reads the first {shown})." if shown < len(names) else ".")
        )
    return discovery
