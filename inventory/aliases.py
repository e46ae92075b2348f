"""Which model version an MLflow alias named, and when: the alias history the asset's points recorded.

MLflow keeps only the current alias, so each recovery point's capture is a sample of it; the
history is as fine as the points are frequent, and "which version served at time T" is the
alias in the last good point taken at or before T.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from inventory.connectors import Capture, ConfigInvalid
from inventory.connectors.mlflow_aliases import alias_at, alias_history
from inventory.models import Asset, PointStatus, RecoveryPoint

MAX_POINTS = 2000
log = logging.getLogger(__name__)


def mlflow_captures(asset: Asset) -> list[Capture]:
    """The MLflow captures of the asset's good points (a group's MLflow members' too), oldest first."""
    rows = (
        RecoveryPoint.objects.filter(asset=asset, status=PointStatus.OK)
        .order_by("-data_as_of")
        .values_list("manifest", flat=True)[:MAX_POINTS]
    )
    out: list[Capture] = []
    for manifest in rows:
        data = ((manifest or {}).get("extra") or {}).get("capture")
        if not data:
            continue
        try:
            capture = Capture.from_json(data)
        except (ConfigInvalid, KeyError, TypeError, ValueError):
            log.warning("a point's capture cannot be read; its aliases are left out of the history")
            continue
        if capture.kind == "mlflow":
            out.append(capture)
        elif capture.kind == "group":
            members = capture.details.get("members")
            for member in members.values() if isinstance(members, dict) else ():
                if isinstance(member, dict) and member.get("kind") == "mlflow":
                    try:
                        out.append(Capture.from_json(member["capture"]))
                    except (ConfigInvalid, KeyError, TypeError, ValueError):
                        log.warning("a group point's MLflow capture cannot be read; left out of the history")
    readable = [capture for capture in (_readable(c) for c in out) if capture is not None]
    if len(readable) < len(out):
        log.warning("%d MLflow capture(s) of %s hold no readable aliases; left out", len(out) - len(readable), asset)
    return sorted(readable, key=lambda c: c.data_as_of)


def _readable(capture: Capture) -> Capture | None:
    """The capture with its models as name → {aliases: name → version}, or None when it is not that shape
    (a point written by an older or damaged portal must not take the history page down with it)."""
    models = capture.details.get("models", {})
    if not isinstance(models, dict):
        return None
    shaped: dict[str, Any] = {}
    for name, model in models.items():
        aliases = model.get("aliases", {}) if isinstance(model, dict) else None
        if not isinstance(aliases, dict) or not all(isinstance(v, (str, int)) for v in aliases.values()):
            return None
        shaped[str(name)] = {**model, "aliases": {str(a): str(v) for a, v in aliases.items()}}
    return Capture(capture.kind, capture.data_as_of, {**capture.details, "models": shaped})


def alias_changes(captures: list[Capture]) -> list[dict[str, Any]]:
    """One row per span: model, alias, version, from, to (None while it still holds), newest first."""
    rows = []
    for key, spans in alias_history(captures).items():
        model, alias = key.rsplit("@", 1)
        rows += [{"model": model, "alias": alias, **span} for span in spans]
    return sorted(rows, key=lambda r: (r["from"], r["model"], r["alias"]), reverse=True)


def alias_answer(captures: list[Capture], model: str, alias: str, when: datetime) -> dict[str, Any]:
    """The version ``model@alias`` named at ``when``, with the point that says so, or why none does."""
    version = alias_at(captures, model, alias, when)
    earlier = [c for c in captures if c.data_as_of <= when]
    seen_at = max((c.data_as_of for c in earlier), default=None)
    if version is not None:
        text = f"{model}@{alias} named version {version} (recorded by the point of {seen_at:%Y-%m-%d %H:%M:%S} UTC)."
    elif seen_at is None:
        text = f"No point was taken at or before {when:%Y-%m-%d %H:%M:%S} UTC, so the portal cannot say."
    else:
        text = f"{model} had no alias {alias} in the point of {seen_at:%Y-%m-%d %H:%M:%S} UTC."
    return {
        "model": model,
        "alias": alias,
        "at": when.isoformat(),
        "version": version,
        "recorded_at": seen_at.isoformat() if seen_at else None,
        "text": text,
    }


def alias_names(captures: list[Capture]) -> tuple[list[str], list[str]]:
    """The models and alias names the captures hold, for the form's choices."""
    models = sorted({m for c in captures for m in c.details.get("models", {})})
    aliases = sorted({a for c in captures for m in c.details.get("models", {}).values() for a in m.get("aliases", {})})
    return models, aliases


ALIAS_ROWS = 50


def parse_when(text: str) -> datetime:
    """``2026-11-30T14:05`` or with seconds/offset; a time without an offset is UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a time: write it as 2026-11-30T14:05 (UTC).") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def alias_context(asset: Asset, params: Any) -> dict[str, Any] | None:
    """The alias section of an MLflow asset (or a group with an MLflow member); None for others."""
    captures = mlflow_captures(asset)
    if not captures:
        return None
    models, aliases = alias_names(captures)
    out: dict[str, Any] = {"models": models, "aliases": aliases, "changes": alias_changes(captures)[:ALIAS_ROWS]}
    model, alias, at = (str(params.get(k, "")).strip() for k in ("model", "alias", "at"))
    out["asked"] = {"model": model or (models[0] if models else ""), "alias": alias, "at": at}
    if model and alias and at:
        try:
            out["answer"] = alias_answer(captures, model, alias, parse_when(at))
        except ValueError as exc:
            out["error"] = str(exc)
    elif any((model, alias, at)):
        out["error"] = "Give the model, the alias and the time."
    return out
