"""Consistency groups: assets captured together (a model, its feature store, its vector index)
stored as one point with one ``data_as_of``, and restored, verified and cleaned up as a set.

Separate systems cannot be frozen at one instant without stopping their writers, so the
members are captured one after another as quickly as they allow. The group's
``data_as_of`` is the earliest member's (every member holds data at least that recent) and
``spread_seconds`` says how far apart the members' own times are.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.connectors.base import (
    Capture,
    Check,
    Connector,
    PhaseFn,
    Snapshot,
    Verification,
    get_connector,
    register,
    seconds_text,
)
from inventory.connectors.config import field_help
from inventory.connectors.errors import ConfigInvalid, ConnectorError
from inventory.engine import Source
from inventory.engine.crypto import Readable
from inventory.engine.sources import SourceFile, SourceScan

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class GroupSource:
    """Several members' Sources as one tree: each member's files under ``<member>/``."""

    def __init__(self, sources: dict[str, Source]) -> None:
        self.sources = sources
        self._items: dict[str, tuple[Source, SourceFile]] = {}

    @property
    def uri(self) -> str:
        return "group:" + ",".join(self.sources)

    def scan(self) -> SourceScan:
        out = SourceScan()
        for name, source in self.sources.items():
            scan = source.scan()
            for item in scan.files:
                handle = f"{name}/{item.path}"
                self._items[handle] = (source, item)
                out.files.append(SourceFile(handle, item.size, item.mode, handle))
            out.skipped.extend({**s, "path": f"{name}/{s['path']}"} for s in scan.skipped)
        out.files.sort(key=lambda item: item.path)
        return out

    @contextlib.contextmanager
    def open(self, item: SourceFile) -> Iterator[Readable]:
        source, original = self._items[item.handle]
        with source.open(original) as reader:
            yield reader


def member_failed(name: str, exc: ConnectorError) -> ConnectorError:
    """A member's failure, of the same type, named the one way every phase says it: "Group member <name>: …"."""
    return type(exc)(f"Group member {name}: {exc}")


class Group:
    """Named members, in restore order (a model before the index that needs it)."""

    def __init__(self, members: dict[str, Connector[Any]]) -> None:
        if not members:
            raise ConfigInvalid("A consistency group needs at least one member.")
        for name in members:
            if not _NAME.match(name):
                raise ConfigInvalid(f"Member name {name!r}: use lower-case letters, digits, '.', '_' or '-'.")
        self.members = members

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Group:
        return cls({m["name"]: get_connector(m["kind"], m["config"]) for m in data})

    def snapshot(self, staging: Path) -> Snapshot:
        sources: dict[str, Source] = {}
        captures: dict[str, Capture] = {}
        for name, connector in self.members.items():
            (staging / name).mkdir()
            try:
                snap = connector.snapshot(staging / name)
            except ConnectorError as exc:
                raise member_failed(name, exc) from exc
            sources[name], captures[name] = snap.source, snap.capture
        times = [c.data_as_of for c in captures.values()]
        details = {
            "members": {
                name: {"kind": c.kind, "config": self.members[name].config_json(), "capture": c.to_json()}
                for name, c in captures.items()
            },
            "spread_seconds": (max(times) - min(times)).total_seconds(),
        }
        return Snapshot(source=GroupSource(sources), capture=Capture("group", min(times), details))

    def member_capture(self, capture: Capture, name: str) -> Capture:
        try:
            return Capture.from_json(capture.details["members"][name]["capture"])
        except KeyError:
            raise ConfigInvalid(f"The group point holds no member {name}.") from None

    def restore(self, *, restored: Path, capture: Capture, targets: dict[str, Any], replace: bool = False) -> list[str]:
        """Restore every member in order; on a failure the members already restored are cleaned up
        (only when they went into fresh drill targets, ``replace`` false) and the error names the member."""
        done: list[str] = []
        for name, connector in self.members.items():
            connector.say("restoring into the target")
            try:
                connector.restore(
                    restored=restored / name,
                    capture=self.member_capture(capture, name),
                    target=targets[name],
                    replace=replace,
                )
            except ConnectorError as exc:
                if not replace:
                    for earlier in reversed(done):
                        self.members[earlier].say("removing what this restore put there (a later member failed)")
                        self.members[earlier].cleanup(target=targets[earlier])
                raise member_failed(name, exc) from exc
            done.append(name)
        return done

    def verify(self, *, capture: Capture, targets: dict[str, Any]) -> dict[str, Verification]:
        found: dict[str, Verification] = {}
        for name, connector in self.members.items():
            connector.say("verifying against the point")
            try:
                found[name] = connector.verify(capture=self.member_capture(capture, name), target=targets[name])
            except ConnectorError as exc:
                raise member_failed(name, exc) from exc
        return found

    def announce(self, say: PhaseFn) -> None:
        """Each member says where it stands through ``say``, named and counted ("kb-index (2 of 3): …")."""
        for number, (name, member) in enumerate(self.members.items(), start=1):
            member.say = _member_say(say, f"{name} ({number} of {len(self.members)})")

    def cleanup(self, *, targets: dict[str, Any]) -> None:
        """Every member's clean-up runs, even after one fails; the first failure is raised at the end."""
        failures: list[ConnectorError] = []
        for name in reversed(list(self.members)):
            try:
                self.members[name].cleanup(target=targets[name])
            except ConnectorError as exc:
                failures.append(member_failed(name, exc))
        if failures:
            raise failures[0]


def _member_say(say: PhaseFn, who: str) -> PhaseFn:
    def member_say(phase: str, detail: str = "") -> None:
        say(f"{who}: {phase}", detail)

    return member_say


@dataclass(frozen=True)
class GroupConfig:
    members: tuple[str, ...] = field_help(
        "Names of the member assets, in restore order (a model before the index that needs it)."
    )

    def check(self) -> None:
        if not self.members:
            raise ConfigInvalid("members: a consistency group needs at least one member asset.")
        if len(set(self.members)) != len(self.members):
            raise ConfigInvalid("members: each member asset is named once.")
        for name in self.members:
            if not _NAME.match(name):
                raise ConfigInvalid(f"members: {name!r} is not an asset name.")


@register
class GroupConnector(Connector[GroupConfig]):
    """A consistency group as an asset: its config names member assets, bound to their connectors
    by the portal (``bind``) before any hook runs. One point holds every member at one ``data_as_of``."""

    kind = "group"
    label = "Consistency group (member assets captured together)"
    config_class = GroupConfig
    group: Group | None = None

    def bind(self, members: dict[str, Connector[Any]]) -> GroupConnector:
        self.group = Group(members)
        return self

    def _bound(self) -> Group:
        if self.group is None:
            raise ConfigInvalid("A consistency group is captured through its member assets; none are bound.")
        return self.group

    def snapshot(self, staging: Path) -> Snapshot:
        return self._bound().snapshot(staging)

    def _share_ledger(self) -> Group:
        """Each member writes what it creates into the group's ledger, under its own name."""
        group = self._bound()
        for name, member in group.members.items():
            member.ledger = self.ledger.member(name)
        group.announce(self.say)
        return group

    def restore(self, *, restored: Path, capture: Capture, target: Any, replace: bool = False) -> None:
        self.check_capture(capture)
        self._share_ledger().restore(restored=restored, capture=capture, targets=dict(target), replace=replace)

    def verify(self, *, capture: Capture, target: Any) -> Verification:
        report = Verification(self.kind)
        for name, member in self.verify_members(capture=capture, target=target).items():
            report.checks.extend(Check(f"{name}: {c.name}", c.expected, c.found) for c in member.checks)
            report.notes.extend(f"{name}: {note}" for note in member.notes)
        report.notes.append(
            f"members captured within {seconds_text(capture.details.get('spread_seconds', 0))} of each other"
        )
        return report

    def verify_members(self, *, capture: Capture, target: Any) -> dict[str, Verification]:
        group = self._bound()
        group.announce(self.say)
        return group.verify(capture=capture, targets=dict(target))

    def refuse_full_target(self, target: Any, capture: Capture) -> None:
        group = self._share_ledger()
        for name, member in group.members.items():
            try:
                member.refuse_full_target(dict(target)[name], group.member_capture(capture, name))
            except ConnectorError as exc:
                raise type(exc)(f"Group member {name}: {exc}") from exc

    def cleanup(self, *, target: Any) -> None:
        self._share_ledger().cleanup(targets=dict(target))

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any] | None:
        targets = {}
        for name, member in self._bound().members.items():
            one = member.drill_target(root=root / name, tag=tag)
            if one is None:
                return None
            targets[name] = one
        return targets

    def target_label(self, config: Any) -> str:
        members = self._bound().members
        return "; ".join(f"{name} → {members[name].target_label(cfg)}" for name, cfg in dict(config).items())

    def target_paths(self, config: Any) -> list[Path]:
        members = self._bound().members
        return [path for name, cfg in dict(config).items() for path in members[name].target_paths(cfg)]

    def describe(self, capture: Capture) -> str:
        members = capture.details.get("members", {})
        return f"consistency group of {len(members)}: {', '.join(members)}"
