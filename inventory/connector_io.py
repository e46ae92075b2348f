"""The seam between inventory rows and connectors: which connector captures an asset, where a run
restores it, and the restore, verify and clean-up hooks called with a point's capture.

An asset "has a connector" when it is captured by an application connector (SQLite, PostgreSQL,
Redis, MLflow, the vector index, or a consistency group of such assets). Directory and S3-prefix
assets keep the folder path: their bytes are the asset, so a restore of the files is the restore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inventory import connectors
from inventory.connectors import Capture, ConfigInvalid, Connector, Verification
from inventory.connectors.base import PhaseFn, quiet
from inventory.connectors.group import GroupConnector
from inventory.connectors.ledger import Ledger
from inventory.models import URI_CONNECTORS, Asset, RecoveryPoint
from inventory.paths import drill_path_refusal, target_path_refusal


def has_connector(asset: Asset) -> bool:
    kind, _ = asset.source_connector()
    return kind not in URI_CONNECTORS


def connector_summary(asset: Asset, *, where: bool) -> str | None:
    """What captures the asset, in one line for its page; None when its files are the asset.

    ``where``: also the system it reads (a host, a path), for people who may restore.
    """
    if not has_connector(asset):
        return None
    try:
        connector = asset_connector(asset)
    except ConfigInvalid as exc:
        return f"{asset.connector} connector, whose configuration is not usable" + (f": {exc}" if where else ".")
    what = connector.label or connector.kind
    if isinstance(connector, GroupConnector):
        members = list(connector.config.members)
        return f"Consistency group of {len(members)}: {', '.join(members)}"
    return f"{what}: {connector.target_label(connector.config_json())}" if where else what


def asset_connector(asset: Asset) -> Connector[Any]:
    """The asset's connector, a consistency group bound to its member assets' connectors."""
    kind, config = asset.source_connector()
    connector = connectors.get_connector(kind, config)
    if isinstance(connector, GroupConnector):
        names = list(connector.config.members)
        found = {a.name: a for a in Asset.objects.filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise ConfigInvalid(f"The consistency group {asset.name} names missing assets: {', '.join(missing)}.")
        members: dict[str, Connector[Any]] = {}
        for name in names:
            member_kind, member_config = found[name].source_connector()
            if member_kind == GroupConnector.kind:
                raise ConfigInvalid(f"The group {asset.name} holds another group ({name}); groups do not nest.")
            members[name] = connectors.get_connector(member_kind, member_config)
        connector.bind(members)
    return connector


def group_members(asset: Asset) -> list[Asset]:
    """The member assets of a consistency group asset, in its restore order; [] for any other asset."""
    kind, config = asset.source_connector()
    if kind != GroupConnector.kind:
        return []
    names = list(config.get("members") or [])
    found = {a.name: a for a in Asset.objects.filter(name__in=names)}
    return [found[n] for n in names if n in found]


def point_capture(point: RecoveryPoint) -> Capture:
    """What the connector captured for this point (stored with the point's manifest summary)."""
    extra = (point.manifest or {}).get("extra") or {}
    if "capture" not in extra:
        raise ConfigInvalid(
            f"Recovery point {point.public_id} was not taken by a connector (it holds files only); "
            "back the asset up again through its connector."
        )
    return Capture.from_json(extra["capture"])


def capture_text(point: RecoveryPoint) -> str:
    """What a connector captured in this point, for people (tables and rows, keys, models and
    versions, vector tables and their embedding model); "" for a point of plain files."""
    extra = (point.manifest or {}).get("extra") or {}
    if "capture" not in extra:
        return ""
    try:
        capture = Capture.from_json(extra["capture"])
    except (ConfigInvalid, KeyError, TypeError, ValueError):
        return ""
    try:
        return describe_capture(capture)
    except (AttributeError, KeyError, TypeError, ValueError):  # details not of the shape its connector writes
        return f"{capture.kind} capture (what it holds cannot be read)"


def describe_capture(capture: Capture) -> str:
    if capture.kind == GroupConnector.kind:
        members = capture.details.get("members", {})
        lines = []
        for name, member in members.items():
            try:
                inner = Capture.from_json(member["capture"])
            except (ConfigInvalid, KeyError, TypeError, ValueError):
                continue
            lines.append(f"{name}: {describe_capture(inner)}")
        return "; ".join(lines)
    try:
        cls = connectors.connector_class(capture.kind)
    except ConfigInvalid:
        return f"{capture.kind} capture"
    # describe() reads only the capture, so it needs no connection (nor a valid current config).
    return cls.describe(cls.__new__(cls), capture)


def _own_target(connector: Connector[Any]) -> dict[str, Any]:
    if isinstance(connector, GroupConnector):
        return {name: member.config_json() for name, member in connector._bound().members.items()}
    return connector.config_json()


def _merged(connector: Connector[Any], base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    if not override:
        return base
    if isinstance(connector, GroupConnector):
        unknown = sorted(set(override) - set(base), key=str)
        if unknown:
            raise ConfigInvalid(f"target_config names no member {unknown[0]!r} of the group.")
        for name, fields in override.items():
            if fields is not None and not isinstance(fields, dict):
                raise ConfigInvalid(f"target_config: the member {name} takes a mapping of its connector's fields.")
        return {name: {**cfg, **(override.get(name) or {})} for name, cfg in base.items()}
    return {**base, **override}


def run_target(
    *, asset: Asset, drill: bool, drill_dir: Path, tag: str, alternate: bool, override: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """(target configuration, one-line label) a run restores ``asset`` into; ConfigInvalid says why not.

    A drill restores into a scratch target the connector makes up (a folder of the drill, a
    scratch database, a drill Redis db, a drill MLflow server), never the source. A recovery
    restores over the asset's own system (only with ``replace``) or, for ``alternate``, into the
    target its plan step names.
    """
    connector = asset_connector(asset)
    if drill:
        base = connector.drill_target(root=drill_dir, tag=tag)
        if base is None and not override:
            raise ConfigInvalid(
                f"{asset.name}: the {connector.kind} connector cannot make up a drill target; set its drill "
                "field (drill_db, drill_tracking_uri) in the asset's connector config, or target_config on the step."
            )
        base = base or _own_target(connector)
    elif alternate:
        if not override:
            raise ConfigInvalid(f"{asset.name}: restoring a {connector.kind} asset elsewhere needs target_config.")
        base = _own_target(connector)
    else:
        base = _own_target(connector)
    target = _merged(connector, base, override)
    if isinstance(connector, GroupConnector):
        for name, member in connector._bound().members.items():
            member.parse(target[name])
    else:
        connector.parse(target)
    if drill and _same_as_source(connector, target):
        raise ConfigInvalid(f"{asset.name}: a drill target must not be the asset's own system.")
    for path in connector.target_paths(target):
        # A local target stays where the product allows: a drill only under VAR_DIR/drills, any
        # restore never into /proc, /sys, /dev, with '..', or over the portal's own data, keys or database.
        why = target_path_refusal(path) or (drill_path_refusal(path) if drill else None)
        if why:
            raise ConfigInvalid(f"{asset.name}: {why}")
    return target, connector.target_label(target)[:500]


def target_paths(*, asset: Asset, target: dict[str, Any]) -> list[Path]:
    """The local files and folders a connector target lives in (a server target has none)."""
    return asset_connector(asset).target_paths(target)


def _same_as_source(connector: Connector[Any], target: dict[str, Any]) -> bool:
    if isinstance(connector, GroupConnector):
        members = connector._bound().members
        return any(members[name].config_json() == cfg for name, cfg in target.items())
    return connector.config_json() == target


def restore(
    *,
    asset: Asset,
    point: RecoveryPoint,
    restored: Path,
    target: dict[str, Any],
    replace: bool,
    ledger: Ledger | None = None,
    say: PhaseFn = quiet,
) -> None:
    """Load the files restored from ``point`` (under ``restored``) into the target system; what it
    creates there is written into ``ledger`` as it goes, and where it stands is told to ``say``."""
    connector = asset_connector(asset)
    if ledger is not None:
        connector.ledger = ledger
    connector.say = say
    say("restoring into the target")
    connector.restore(restored=restored, capture=point_capture(point), target=target, replace=replace)


def refuse_full_target(
    *, asset: Asset, point: RecoveryPoint, target: dict[str, Any], ledger: Ledger | None = None
) -> None:
    """TargetNotEmpty when the target already holds data a restore without replace would refuse:
    a cheap look at the target, before a byte of the point is read from the vault."""
    connector = asset_connector(asset)
    if ledger is not None:
        connector.ledger = ledger
    connector.refuse_full_target(target, point_capture(point))


def verify(*, asset: Asset, point: RecoveryPoint, target: dict[str, Any], say: PhaseFn = quiet) -> dict[str, Any]:
    """The connector's verification of the target against the point, as evidence (per member for a group)."""
    connector = asset_connector(asset)
    connector.say = say
    say("verifying against the point")
    capture = point_capture(point)
    if isinstance(connector, GroupConnector):
        members = connector.verify_members(capture=capture, target=target)
        report = Verification(connector.kind)
        for name, member in members.items():
            report.checks.extend(member.checks)
            report.notes.extend(f"{name}: {n}" for n in member.notes)
            report.facts[name] = member.facts
        evidence = report.to_json()
        evidence["summary"] = (
            f"group: all {len(members)} members verified"
            if report.ok
            else "group: " + "; ".join(m.summary() for m in members.values() if not m.ok)
        )
        evidence["members"] = {name: m.to_json() for name, m in members.items()}
        evidence["consistency"] = {
            "group": asset.name,
            "data_as_of": capture.data_as_of.isoformat(),
            "spread_seconds": capture.details.get("spread_seconds", 0),
        }
        return evidence
    evidence = connector.verify(capture=capture, target=target).to_json()
    evidence["data_as_of"] = capture.data_as_of.isoformat()
    return evidence


def cleanup(*, asset: Asset, target: dict[str, Any], ledger: Ledger) -> None:
    """Remove from the target exactly what ``ledger`` says the restore created."""
    connector = asset_connector(asset)
    connector.ledger = ledger
    connector.cleanup(target=target)
