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
from pathlib import Path
from typing import Any

from inventory.connectors.base import Capture, Connector, Snapshot, Verification, get_connector
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
            snap = connector.snapshot(staging / name)
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
                        self.members[earlier].cleanup(target=targets[earlier])
                raise type(exc)(f"Group member {name}: {exc}") from exc
            done.append(name)
        return done

    def verify(self, *, capture: Capture, targets: dict[str, Any]) -> dict[str, Verification]:
        return {
            name: connector.verify(capture=self.member_capture(capture, name), target=targets[name])
            for name, connector in self.members.items()
        }

    def cleanup(self, *, targets: dict[str, Any]) -> None:
        for name in reversed(list(self.members)):
            self.members[name].cleanup(target=targets[name])
