"""The editable fields of each catalogue entity, in the order people see them.

Forms, API serializers, the catalogue services, import and export (YAML and
CSV) all take their field lists from here, so adding a field to an asset,
policy or vault is one edit in this file plus the model.
"""

from __future__ import annotations

ASSET_FIELDS: tuple[str, ...] = (
    "name",
    "title",
    "kind",
    "owner_team",
    "tier",
    "data_classes",
    "region",
    "environment",
    "source_uri",
    "connector",
    "connector_config",
    "labels",
    "fallback",
    "alternate_region",
    "policy",
    "vault",
)

POLICY_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "strategy",
    "rto_minutes",
    "rpo_minutes",
    "mtd_minutes",
    "backup_cadence_minutes",
    "retention_days",
    "worm_days",
    "full_chain_days",
    "encryption_required",
    "allowed_regions",
    "drill_cadence_days",
    "failover_quorum",
)

VAULT_FIELDS: tuple[str, ...] = ("name", "kind", "region", "worm_capable", "config")

DEPENDENCY_FIELDS: tuple[str, ...] = ("upstream", "downstream", "note")

# Asset fields the API and the CSV name by a related row's name rather than its id.
ASSET_REFERENCES: tuple[str, ...] = ("policy", "vault")

# A CSV file holds assets only; its last column names each row's upstream assets.
CSV_COLUMNS: tuple[str, ...] = (*ASSET_FIELDS, "depends_on")
