"""Certificate rows that come from connectors: the connector's verification, a vector index's
golden top-k overlap, and lineage (the restored model, features and index are from one time).

Lineage holds when every restored data set comes from one consistency-group point, or when
their ``data_as_of`` lie within ``LINEAGE_MAX_SPREAD_SECONDS`` of each other; a single restored
asset that is not a group proves nothing about lineage and says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incidents.runs.models import StepRun, StepState
from inventory.connectors.base import seconds_text
from inventory.models import StepKind

PASSED, FAILED, NOT_CHECKED = "passed", "failed", "not_checked"
# Separate backups this close together count as one time (a model retrained hourly moves slower).
LINEAGE_MAX_SPREAD_SECONDS = 300


def _row(name: str, status: str, detail: str, **facts: Any) -> dict[str, Any]:
    return {"check": name, "status": status, "detail": detail, **{k: v for k, v in facts.items() if v is not None}}


def connector_rows(restore: StepRun, verify: StepRun | None) -> list[dict[str, Any]]:
    """The connector and embedding-overlap rows of an asset restored through its connector."""
    found = [s.evidence.get("connector") for s in (verify, restore) if s is not None and s.evidence.get("connector")]
    if restore.state != StepState.SUCCEEDED:
        return [_row("connector", FAILED, f"restore did not finish: {restore.error or restore.state}")]
    if verify is not None and verify.state != StepState.SUCCEEDED:
        detail = f"verify step {verify.state}: {verify.error}"
        return [_row("connector", FAILED, detail, result=found[0] if found else None)]
    if not found:
        return [_row("connector", FAILED, "the restore recorded no connector verification")]
    result = found[0]
    rows = [_row("connector", PASSED if result.get("ok") else FAILED, result.get("summary", ""), result=result)]
    overlaps = _overlaps(result)
    if overlaps:
        worst = min(o["min"] - o["required"] for o in overlaps.values())
        text = "; ".join(
            f"{name}: top-{o['k']} overlap mean {o['mean']:.2f}, min {o['min']:.2f} (need {o['required']:g})"
            for name, o in sorted(overlaps.items())
        )
        rows.append(_row("embedding_overlap", PASSED if worst >= 0 else FAILED, text, tables=overlaps))
    return rows


def _overlaps(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Table (``member/table`` in a group) → its golden-query overlap, from the verification's facts."""
    facts = result.get("facts") or {}
    out = dict(facts.get("top_k_overlap") or {})
    for member, member_facts in facts.items():
        if isinstance(member_facts, dict) and "top_k_overlap" in member_facts:
            out.update({f"{member}/{t}": o for t, o in member_facts["top_k_overlap"].items()})
    return out


def member_rows(name: str, group_restore: StepRun) -> list[dict[str, Any]]:
    """A member of a consistency group restored by its group's step: where it came from, whether it held."""
    result = (group_restore.evidence.get("connector") or {}).get("members", {}).get(name)
    point = group_restore.point
    if group_restore.state != StepState.SUCCEEDED or result is None:
        return [_row("connector", FAILED, f"group restore {group_restore.key} did not verify this member")]
    detail = f"restored with group {group_restore.asset.name if group_restore.asset else '?'}"
    rows = [
        _row(
            "recovery_point",
            PASSED,
            detail + (f" from point {point.public_id}" if point else ""),
            point=str(point.public_id) if point else None,
            data_as_of=point.data_as_of.isoformat() if point else None,
        ),
        _row("connector", PASSED if result.get("ok") else FAILED, result.get("summary", ""), result=result),
    ]
    overlaps = _overlaps(result)
    if overlaps:
        worst = min(o["min"] - o["required"] for o in overlaps.values())
        rows.append(_row("embedding_overlap", PASSED if worst >= 0 else FAILED, "golden queries", tables=overlaps))
    return rows


def lineage(steps: list[StepRun]) -> dict[str, Any]:
    """Whether the run's restored data sets belong to one consistency group or one time."""
    restores = [s for s in steps if s.kind == StepKind.RESTORE and s.state == StepState.SUCCEEDED and s.point]
    sets: list[dict[str, Any]] = []
    for step in restores:
        assert step.point is not None and step.asset is not None
        consistency = (step.evidence.get("connector") or {}).get("consistency")
        sets.append(
            {
                "asset": step.asset.name,
                "point": str(step.point.public_id),
                "data_as_of": step.point.data_as_of.isoformat(),
                "group_members": sorted((step.evidence.get("connector") or {}).get("members", {})) or None,
                "group_spread_seconds": consistency.get("spread_seconds") if consistency else None,
            }
        )
    points = {s["point"] for s in sets}
    groups = [s for s in sets if s["group_members"]]
    if not sets:
        return _row("lineage", NOT_CHECKED, "nothing was restored", data_sets=[])
    if len(points) == 1 and groups:
        spread = groups[0]["group_spread_seconds"] or 0
        members = ", ".join(groups[0]["group_members"])
        detail = f"{members} restored from one consistency-group point (captured within {seconds_text(spread)})"
        return _row("lineage", PASSED, detail, data_sets=sets)
    if len(sets) == 1:
        detail = "one asset restored on its own; no group to be consistent with"
        return _row("lineage", NOT_CHECKED, detail, data_sets=sets)
    times = sorted(datetime.fromisoformat(s["data_as_of"]) for s in sets)
    spread = (times[-1] - times[0]).total_seconds()
    status = PASSED if spread <= LINEAGE_MAX_SPREAD_SECONDS else FAILED
    detail = (
        f"{len(sets)} data sets from {len(points)} points, {seconds_text(spread)} apart "
        f"({'within' if status == PASSED else 'beyond'} {LINEAGE_MAX_SPREAD_SECONDS} s)"
    )
    return _row("lineage", status, detail, spread_seconds=spread, data_sets=sets)
