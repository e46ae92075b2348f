"""Size limits on an asset's free-form fields, the same for the form, the API and imports.

Text columns and JSON fields have no size of their own in PostgreSQL, so a client
could store a megabyte of fallback text or thousands of labels. These bounds are
generous for what the fields are for, and each refusal says which bound was passed.
"""

from __future__ import annotations

import json
from typing import Any

FALLBACK_MAX = 4000  # characters: what serves in degraded mode, in a few paragraphs
LABELS_MAX = 64  # labels on one asset
LABEL_KEY_MAX = 63  # characters in a label's key (as in Kubernetes)
LABEL_VALUE_MAX = 256  # characters in a label's value
CONFIG_BYTES_MAX = 512 * 1024  # the connector configuration as JSON (a list field holds at most 10,000 items)


def asset_limit_errors(*, fallback: str, labels: Any, connector_config: Any) -> dict[str, str]:
    """Field name -> why it is too large, for each field over its bound."""
    errors: dict[str, str] = {}
    if len(fallback or "") > FALLBACK_MAX:
        errors["fallback"] = f"Give at most {FALLBACK_MAX} characters (this has {len(fallback)})."
    if isinstance(labels, dict):
        if len(labels) > LABELS_MAX:
            errors["labels"] = f"Give at most {LABELS_MAX} labels (this has {len(labels)})."
        elif any(isinstance(k, str) and len(k) > LABEL_KEY_MAX for k in labels):
            errors["labels"] = f"A label's key is at most {LABEL_KEY_MAX} characters."
        elif any(isinstance(v, str) and len(v) > LABEL_VALUE_MAX for v in labels.values()):
            errors["labels"] = f"A label's value is at most {LABEL_VALUE_MAX} characters."
    try:
        size = len(json.dumps(connector_config, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        size = 0  # not JSON at all: the connector's own check says so
    if size > CONFIG_BYTES_MAX:
        errors["connector_config"] = (
            f"The connector configuration is at most {CONFIG_BYTES_MAX // 1024} KiB as JSON "
            f"(this is {size // 1024} KiB)."
        )
    return errors
