"""Export of the catalogue as YAML (four lists) or CSV (assets, with `depends_on`): the formats the import reads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from typing import Any

import yaml

from inventory.fields import ASSET_FIELDS, ASSET_REFERENCES, CSV_COLUMNS, POLICY_FIELDS, VAULT_FIELDS
from inventory.models import Asset, Dependency, RecoveryPolicy, Vault

# Where an asset's data lies (dr_portal/accounts/contents.py): left out for people who may not restore.
SOURCE_FIELDS = ("source_uri", "connector_config")
SOURCES_LEFT_OUT = (
    "# Each asset's source_uri and connector_config are left out (null): they are shown to people who may restore.\n"
)


def export_data(*, sources: bool) -> dict[str, list[dict[str, Any]]]:
    """The catalogue; with ``sources=False`` every asset's source fields are None."""

    def pick(row: Any, names: Collection[str]) -> dict[str, Any]:
        return {n: getattr(row, n) for n in names}

    def asset_values(asset: Asset) -> dict[str, Any]:
        values = pick(asset, ASSET_FIELDS)
        for key in ASSET_REFERENCES:
            values[key] = values[key].name if values[key] is not None else None
        if not sources:
            values.update(dict.fromkeys(SOURCE_FIELDS))
        return values

    assets = [asset_values(a) for a in Asset.objects.select_related(*ASSET_REFERENCES).order_by("name")]
    edges = Dependency.objects.select_related("upstream", "downstream").order_by("upstream__name", "downstream__name")
    return {
        "vaults": [pick(v, VAULT_FIELDS) for v in Vault.objects.order_by("name")],
        "policies": [pick(p, POLICY_FIELDS) for p in RecoveryPolicy.objects.order_by("name")],
        "assets": assets,
        "dependencies": [{"upstream": e.upstream.name, "downstream": e.downstream.name, "note": e.note} for e in edges],
    }


def export_yaml(*, sources: bool) -> str:
    text = yaml.safe_dump(export_data(sources=sources), sort_keys=False, allow_unicode=True)
    return text if sources else SOURCES_LEFT_OUT + text


def export_csv() -> str:
    """The assets as CSV, for the export command: with their sources, as the import needs them."""
    data = export_data(sources=True)
    ups: dict[str, list[str]] = {}
    for edge in data["dependencies"]:
        ups.setdefault(edge["downstream"], []).append(edge["upstream"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for asset in data["assets"]:
        row = {k: ("" if v is None else v) for k, v in asset.items()}
        row["data_classes"] = ";".join(asset["data_classes"])
        row["labels"] = ";".join(f"{k}={v}" for k, v in sorted(asset["labels"].items()))
        config = asset.get("connector_config") or {}
        row["connector_config"] = json.dumps(config, sort_keys=True) if config else ""
        row["depends_on"] = ";".join(ups.get(asset["name"], []))
        writer.writerow(row)
    return out.getvalue()
