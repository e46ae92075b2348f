"""MLflow keeps only an alias's current version; these read "which version did this alias name, when"
from the history of captures a registry's asset has."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inventory.connectors.base import Capture


def alias_history(captures: list[Capture]) -> dict[str, list[dict[str, Any]]]:
    """``"model@alias"`` → spans ``{version, from, to}``: which version each alias named, capture by capture.

    MLflow keeps only the current alias, so the history is as fine as the captures are frequent.
    """
    spans: dict[str, list[dict[str, Any]]] = {}
    for capture in sorted(captures, key=lambda c: c.data_as_of):
        seen = {
            f"{m}@{a}": v for m, model in capture.details.get("models", {}).items() for a, v in model["aliases"].items()
        }
        when = capture.data_as_of.isoformat()
        for key, version in seen.items():
            history = spans.setdefault(key, [])
            if history and history[-1]["version"] == version and history[-1]["to"] is None:
                continue
            if history and history[-1]["to"] is None:
                history[-1]["to"] = when
            history.append({"version": version, "from": when, "to": None})
        for key, history in spans.items():
            if key not in seen and history[-1]["to"] is None:
                history[-1]["to"] = when
    return spans


def alias_at(captures: list[Capture], model: str, alias: str, when: datetime) -> str | None:
    """The version ``model@alias`` named in the last capture taken at or before ``when``."""
    earlier = [c for c in captures if c.data_as_of <= when]
    if not earlier:
        return None
    latest = max(earlier, key=lambda c: c.data_as_of)
    found: str | None = latest.details.get("models", {}).get(model, {}).get("aliases", {}).get(alias)
    return found
