"""One short readable line per audit event ("Backup failed: the vault is full"), for the Audit page.

The full payload stays one click away; this line is what a reader scans. It is built from the action
and the few payload facts that say most, so it needs no query: the page's cost does not grow with it.
"""

from __future__ import annotations

from typing import Any

# The payload keys that say most about what happened, in the order they are worth reading.
_FIRST = (
    "reason", "error", "summary", "message", "note", "outcome", "decision", "status", "to", "mode",
    "step", "plan", "asset", "point", "run", "regime", "format", "bytes", "size_bytes", "files", "events",
)  # fmt: skip
_SKIP = {"filters", "fields", "changes", "stats", "checks", "files_list", "digests", "manifest"}
MAX_FACTS = 3
MAX_VALUE = 90


def _verb(action: str) -> str:
    area, _, what = action.partition(".")
    words = f"{area} {what}".replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)
    if isinstance(value, str) and value.strip():
        text = " ".join(value.split()).rstrip(".")
        return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return _value(", ".join(value))
    return None


def event_summary(action: str, payload: dict[str, Any]) -> str:
    """``Backup failed — error: The vault at … is full`` : the action in words, then up to three facts."""
    keys = [k for k in _FIRST if k in payload] + sorted(k for k in payload if k not in _FIRST and k not in _SKIP)
    facts = []
    for key in keys:
        said = _value(payload[key])
        if said is None:
            continue
        facts.append(f"{key.replace('_', ' ')}: {said}")
        if len(facts) == MAX_FACTS:
            break
    return _verb(action) + (" — " + "; ".join(facts) if facts else "")
