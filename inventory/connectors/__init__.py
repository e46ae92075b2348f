"""Application-consistent connectors: one module per source kind behind one interface.

Plain Python, no Django: a connector turns a live system into a consistent set of
files plus a capture description, and loads such a set back into a target of the
same kind. The engine (``inventory.engine``) stores and restores the files.
"""

from __future__ import annotations

from inventory.connectors.base import (
    Capture,
    Check,
    Connector,
    Discovery,
    Proposal,
    Snapshot,
    Verification,
    connector_class,
    connector_kinds,
    get_connector,
    kind_fields,
    register,
    staging_dir,
)
from inventory.connectors.config import SecretRef, config_to_json, parse_config
from inventory.connectors.errors import (
    AuthFailed,
    CaptureIncomplete,
    ConfigInvalid,
    ConnectorError,
    ConnectorRefused,
    EmbeddingMismatch,
    KindMismatch,
    RestoreFailed,
    SecretUnavailable,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
)

__all__ = [
    "AuthFailed",
    "Capture",
    "CaptureIncomplete",
    "Check",
    "ConfigInvalid",
    "Connector",
    "ConnectorError",
    "ConnectorRefused",
    "Discovery",
    "EmbeddingMismatch",
    "KindMismatch",
    "Proposal",
    "RestoreFailed",
    "SecretRef",
    "SecretUnavailable",
    "Snapshot",
    "SourceChanged",
    "TargetNotEmpty",
    "Unreachable",
    "Verification",
    "config_to_json",
    "connector_class",
    "connector_kinds",
    "get_connector",
    "kind_fields",
    "parse_config",
    "register",
    "staging_dir",
]
