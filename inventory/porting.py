"""Import and export of the catalogue as YAML or CSV; an import is all-or-nothing.

YAML holds four lists (vaults, policies, assets, dependencies); CSV holds
assets only, one per row, with `depends_on` naming upstream assets. Rows are
matched by name: a known name is updated, a new one created. Any error in
any row rolls the whole file back, and every error names its line and field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from inventory.export import export_csv, export_data, export_yaml  # noqa: F401 - also imported from here
from inventory.fields import (
    ASSET_FIELDS,
    ASSET_REFERENCES,
    CSV_COLUMNS,
    DEPENDENCY_FIELDS,
    POLICY_FIELDS,
    VAULT_FIELDS,
)
from inventory.models import Asset, Dependency, RecoveryPolicy, Vault
from inventory.porting_text import plain_text
from inventory.porting_yaml import load_yaml
from inventory.services.bulk import assets_create_many, dependencies_add_many
from inventory.services.catalog import (
    asset_create,
    asset_update,
    policy_create,
    policy_update,
    vault_create,
    vault_update,
)

MAX_BYTES = 5 * 1024 * 1024
NESTING = "lists or mappings within each other hundreds deep"


_WHERE = re.compile(r"line (\d+)(?:, field (\w+))?")


def _by_line(error: str) -> tuple[int, str]:
    """Where an error points, to list them as the file reads: by line, then field (file-wide problems first)."""
    where = _WHERE.match(error)
    return (int(where[1]), where[2] or "") if where else (0, "")


class ImportFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        errors = sorted(dict.fromkeys(errors), key=_by_line)  # a problem met many times is said once
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=lambda: {"vault": 0, "policy": 0, "asset": 0, "dependency": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"vault": 0, "policy": 0, "asset": 0})

    def __str__(self) -> str:
        made = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in self.created.items() if n)
        changed = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in self.updated.items() if n)
        parts = [f"created {made}" if made else "", f"updated {changed}" if changed else ""]
        return "; ".join(p for p in parts if p) or "nothing new"


@dataclass
class Row:
    line: int
    data: dict[str, Any]
    field_lines: dict[str, int] = field(default_factory=dict)

    def at(self, name: str) -> str:
        """Where to point an error about field `name`."""
        return f"line {self.field_lines.get(name, self.line)}, field {name}"


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in ("__line__", "__lines__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _rows(items: Any, section: str, errors: list[str]) -> list[Row]:
    if items is None:
        return []
    if not isinstance(items, list):
        errors.append(f"{section}: expected a list of entries.")
        return []
    rows = []
    for item in items:
        if not isinstance(item, dict):
            errors.append(f"{section}: every entry must be a mapping of field: value.")
            continue
        rows.append(Row(item.get("__line__", 0), _strip_lines(item), dict(item.get("__lines__", {}))))
    return rows


def parse_yaml(text: str) -> dict[str, list[Row]]:
    try:
        document = load_yaml(text)
    except RecursionError:
        raise ImportFailed([f"The YAML is nested more deeply than a catalogue ever is ({NESTING})."]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ImportFailed([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})."]) from None
    if not isinstance(document, dict):
        raise ImportFailed(["line 1: expected a mapping with vaults, policies, assets and dependencies."])
    errors: list[str] = []
    unknown = sorted(set(document) - {"vaults", "policies", "assets", "dependencies", "__line__", "__lines__"})
    if unknown:
        errors.append(f"line 1: unknown section {unknown[0]!r}; use vaults, policies, assets, dependencies.")
    sections = {
        name: _rows(document.get(name), name, errors) for name in ["vaults", "policies", "assets", "dependencies"]
    }
    if errors:
        raise ImportFailed(errors)
    return sections


def _split(value: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def parse_csv(text: str | Iterable[str]) -> dict[str, list[Row]]:
    """Rows of a CSV file, read line by line from `text` (a string, or a text stream)."""
    reader = csv.DictReader(io.StringIO(text) if isinstance(text, str) else text)
    try:
        return _csv_rows(reader)
    except csv.Error as exc:  # a value over the csv module's field limit (128 KiB), or a stray NUL
        raise ImportFailed([f"line {reader.line_num + 1}: not readable as CSV ({exc})."]) from None


def _csv_rows(reader: csv.DictReader[str]) -> dict[str, list[Row]]:
    header = reader.fieldnames or []
    missing = [c for c in ["name", "kind", "owner_team", "tier", "region", "source_uri"] if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        problem = f"missing column {missing[0]!r}" if missing else f"unknown column {unknown[0]!r}"
        raise ImportFailed([f"line 1: {problem}; columns are {', '.join(CSV_COLUMNS)}."])
    assets, dependencies = [], []
    errors: list[str] = []
    for record in reader:
        line = reader.line_num
        data: dict[str, Any] = {k: (v or "").strip() for k, v in record.items() if k in CSV_COLUMNS}
        if None in record:
            errors.append(f"line {line}: more values than columns.")
            continue
        data["data_classes"] = _split(data.get("data_classes", ""))
        labels: dict[str, str] = {}
        for pair in _split(data.get("labels", "")):
            key, sep, val = pair.partition("=")
            if not sep:
                errors.append(f"line {line}, field labels: write labels as key=value;key=value.")
            labels[key.strip()] = val.strip()
        data["labels"] = labels
        config = data.get("connector_config", "")
        try:
            data["connector_config"] = json.loads(config) if config else {}
        except (ValueError, RecursionError):
            errors.append(f"line {line}, field connector_config: write the connector's fields as a JSON object.")
        for upstream in _split(data.pop("depends_on", "")):
            dependencies.append(Row(line, {"upstream": upstream, "downstream": data["name"]}))
        assets.append(Row(line, data))
    if errors:
        raise ImportFailed(errors)
    return {"vaults": [], "policies": [], "assets": assets, "dependencies": dependencies}


def _field_errors(row: Row, invalid: ValidationError) -> list[str]:
    if hasattr(invalid, "error_dict"):
        return [
            f"{row.at(name)}: {message}" if name != "__all__" else f"line {row.line}: {message}"
            for name, messages in invalid.message_dict.items()
            for message in messages
        ]
    return [f"line {row.line}: {message}" for message in invalid.messages]


def _check_keys(row: Row, allowed: Collection[str], errors: list[str], model: type[Any]) -> bool:
    unknown = sorted(set(row.data).difference(allowed))
    if unknown:
        errors.append(f"{row.at(unknown[0])}: unknown field; known are {', '.join(sorted(allowed))}.")
        return False
    return plain_text(row, model, errors)


def _upsert(
    row: Row,
    model: type[Any],
    allowed: Collection[str],
    create: Any,
    update: Any,
    by: User | None,
    kind: str,
    summary: ImportSummary,
    errors: list[str],
    fields: Mapping[str, Any] | None = None,
) -> None:
    if not _check_keys(row, allowed, errors, model):
        return
    values = dict(fields if fields is not None else row.data)
    name = values.get("name")
    if not name:
        errors.append(f"line {row.line}, field name: required.")
        return
    existing = model.objects.filter(name=name).first()
    try:
        with transaction.atomic():
            if existing is None:
                create(by=by, fields=values)
                summary.created[kind] += 1
            else:
                update(**{kind: existing}, by=by, fields=values)
                summary.updated[kind] += 1
    except ValidationError as invalid:
        errors.extend(_field_errors(row, invalid))
    except (TypeError, ValueError) as exc:
        errors.append(f"line {row.line}: {exc}")


class _References:
    """Policies and vaults by name, each read once per import."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def find(self, key: str, name: str) -> Any:
        if key not in self._rows:
            model: Any = Asset._meta.get_field(key).related_model
            self._rows[key] = {row.name: row for row in model.objects.all()}
        return self._rows[key].get(name)


def _existing_assets(rows: list[Row]) -> dict[str, Asset]:
    names = [str(row.data.get("name")) for row in rows if row.data.get("name")]
    found: dict[str, Asset] = {}
    for start in range(0, len(names), 2000):
        found.update({a.name: a for a in Asset.objects.filter(name__in=names[start : start + 2000])})
    return found


def _asset_fields(row: Row, errors: list[str], references: _References) -> dict[str, Any] | None:
    values = dict(row.data)
    for key in ASSET_REFERENCES:
        name = values.get(key)
        if name in (None, ""):
            values[key] = None
            continue
        found = references.find(key, str(name))
        if found is None:
            errors.append(f"{row.at(key)}: no {key} named {name!r}.")
            return None
        values[key] = found
    if "tier" in values:
        try:
            values["tier"] = int(values["tier"])
        except (TypeError, ValueError, OverflowError):  # OverflowError: YAML's .inf
            errors.append(f"{row.at('tier')}: expected 0, 1, 2 or 3, got {values['tier']!r}.")
            return None
    return values


@transaction.atomic
def import_rows(*, sections: dict[str, list[Row]], by: User | None, source: str) -> ImportSummary:
    summary = ImportSummary()
    errors: list[str] = []
    for row in sections["vaults"]:
        _upsert(row, Vault, VAULT_FIELDS, vault_create, vault_update, by, "vault", summary, errors)
    for row in sections["policies"]:
        _upsert(row, RecoveryPolicy, POLICY_FIELDS, policy_create, policy_update, by, "policy", summary, errors)
    broken: set[str] = set()  # assets with errors; edges to them would only repeat the news
    references = _References()
    existing = _existing_assets(sections["assets"])
    fresh: list[tuple[Row, dict[str, Any]]] = []
    for row in sections["assets"]:
        before = len(errors)
        if (
            _check_keys(row, ASSET_FIELDS, errors, Asset)
            and (values := _asset_fields(row, errors, references)) is not None
        ):
            if not values.get("name"):
                errors.append(f"line {row.line}, field name: required.")
            elif values["name"] in existing:
                _upsert(row, Asset, ASSET_FIELDS, asset_create, asset_update, by, "asset", summary, errors, values)
            else:
                fresh.append((row, values))
        if len(errors) > before:
            broken.add(str(row.data.get("name")))
    # New assets in one bulk write: the same validation, a few statements for the lot.
    made, invalid = assets_create_many(items=[values for _, values in fresh], by=by)
    for index, problem in sorted(invalid.items()):
        errors.extend(_field_errors(fresh[index][0], problem))
    if invalid:  # none of the new assets was written: their edges would only repeat the news
        broken.update(str(values.get("name")) for _, values in fresh)
    summary.created["asset"] += len(made)
    by_name = {**existing, **{a.name: a for a in made}}
    edge_rows: list[Row] = []
    edges: list[tuple[Asset, Asset, str]] = []
    missing = {
        str(row.data.get(k) or "")
        for row in sections["dependencies"]
        for k in ("upstream", "downstream")
        if str(row.data.get(k) or "") not in by_name
    }
    by_name.update({a.name: a for a in Asset.objects.filter(name__in=missing)})
    for row in sections["dependencies"]:
        if not _check_keys(row, DEPENDENCY_FIELDS, errors, Dependency):
            continue
        if {str(row.data.get("upstream")), str(row.data.get("downstream"))} & broken:
            continue
        up = by_name.get(str(row.data.get("upstream") or ""))
        down = by_name.get(str(row.data.get("downstream") or ""))
        for key, found in (("upstream", up), ("downstream", down)):
            if found is None:
                errors.append(f"{row.at(key)}: no asset named {row.data.get(key)!r}.")
        if up is None or down is None:
            continue
        edge_rows.append(row)
        edges.append((up, down, str(row.data.get("note", ""))))
    if not errors:
        added, invalid = dependencies_add_many(edges=edges, by=by)
        for index, problem in sorted(invalid.items()):
            errors.extend(_field_errors(edge_rows[index], problem))
        summary.created["dependency"] += added
    if errors:
        transaction.set_rollback(True)
        raise ImportFailed(errors)
    audit_append(
        action="inventory.imported",
        actor=by,
        system_actor="system:import",
        object_type="inventory",
        object_id=source[:64],
        payload={"created": summary.created, "updated": summary.updated},
    )
    return summary


def import_file(*, name: str, data: bytes, by: User | None) -> ImportSummary:
    """Import a whole file or nothing; ImportFailed lists every problem found (uploads: porting_stream)."""
    if len(data) > MAX_BYTES:
        raise ImportFailed([f"The file is larger than {MAX_BYTES // 1024 // 1024} MB."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"The file is not UTF-8 text (byte {exc.start})."]) from None
    lowered = name.lower()
    if lowered.endswith(".csv"):
        sections = parse_csv(text)
    elif lowered.endswith((".yaml", ".yml")):
        sections = parse_yaml(text)
    else:
        raise ImportFailed([f"{name}: use a .yaml, .yml or .csv file."])
    return import_rows(sections=sections, by=by, source=name)
