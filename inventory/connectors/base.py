"""The connector interface (Kasten-blueprint style hooks) and the registry of kinds.

A connector knows one kind of system. Its hooks, in the order a drill uses them:

``snapshot(staging)``
    Capture one consistent state and return a :class:`Snapshot`: a
    :class:`~inventory.engine.Source` that ``backup_tree`` streams into the vault,
    plus a :class:`Capture` (``data_as_of`` and the facts ``verify`` will check).
``restore(restored=, capture=, target=, replace=)``
    Load the files ``restore_tree`` put back into a target of the same kind. A target
    that holds data is refused unless ``replace``; with ``replace`` the old content
    stays until the new content is verified.
``verify(capture=, target=)``
    Check the target against the capture, fact by fact.
``cleanup(target=)``
    Remove from a drill target exactly what the restore created, as ``self.ledger``
    recorded it (see :mod:`inventory.connectors.ledger`), and nothing that was there before.
``describe(capture)`` / ``discover()``
    Say in a line what a capture holds; propose assets found in the system.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from inventory.connectors.config import config_fields, config_to_json, parse_config
from inventory.connectors.errors import ConfigInvalid, KindMismatch
from inventory.connectors.ledger import Ledger
from inventory.engine import LocalSource, Source

FORMAT = 1
KIND_MODULES = ("filesystem", "s3", "sqlite", "postgres", "redis_kv", "mlflow", "vector", "group")


def seconds_text(seconds: float | None) -> str:
    """A short span for people: ``0.5 s``, ``3.5 s``, ``42 s``; never ``0.496115 s``."""
    value = float(seconds or 0)
    if value == 0:
        return "0 s"
    if value < 0.01:
        return "under 0.01 s"
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def tables_text(tables: dict[str, Any], *, unit: str = "rows", limit: int = 6) -> str:
    """``card_features (1,200 rows), merchants (3 rows)`` for the first tables by name, and how many more."""
    names = sorted(tables)
    shown = [f"{n} ({tables[n].get('rows', 0):,} {unit})" for n in names[:limit]]
    more = len(names) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Capture:
    """What a snapshot holds: stored with the point (``backup_tree(extra=...)``) as JSON."""

    kind: str
    data_as_of: datetime
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "data_as_of": self.data_as_of.isoformat(),
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Capture:
        try:
            return cls(
                kind=str(data["kind"]),
                data_as_of=datetime.fromisoformat(str(data["data_as_of"])),
                details=dict(data.get("details") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigInvalid(f"The capture description is not readable: {exc}.") from None


@dataclass
class Snapshot:
    """A consistent state ready for ``backup_tree``: the files as a Source, and its description."""

    source: Source
    capture: Capture


@dataclass
class Check:
    name: str
    expected: Any
    found: Any

    @property
    def ok(self) -> bool:
        return bool(self.expected == self.found)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "expected": self.expected, "found": self.found, "ok": self.ok}


@dataclass
class Verification:
    """The result of ``verify``: every fact compared, and whether all held."""

    kind: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Measurements a certificate reads by name (a vector index's top-k overlap per table).
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, expected: Any, found: Any) -> Check:
        check = Check(name, expected, found)
        self.checks.append(check)
        return check

    def add_tables(self, expected: dict[str, Any], found: dict[str, Any]) -> None:
        """A database's tables as captured against those found: names, and each one's rows and row checksum."""
        self.add("tables", sorted(expected), sorted(found))
        for name, facts in expected.items():
            got = found.get(name, {})
            self.add(f"{name} rows", facts["rows"], got.get("rows"))
            self.add(f"{name} sampled-row checksum", facts["checksum"], got.get("checksum"))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        if self.ok:
            return f"{self.kind}: all {len(self.checks)} checks hold."
        if not self.checks:
            return f"{self.kind}: nothing was checked."
        names = ", ".join(c.name for c in self.failures[:5])
        return f"{self.kind}: {len(self.failures)} of {len(self.checks)} checks failed ({names})."

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "summary": self.summary(),
            "checks": [c.to_json() for c in self.checks],
            "notes": self.notes,
            "facts": self.facts,
        }


@dataclass
class Proposal:
    """An asset ``discover`` suggests; nothing is created until a person confirms it."""

    name: str
    kind: str
    config: dict[str, Any]
    owner: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    title: str = ""  # what the system says the thing is (a registered model's description)
    problem: str = ""  # why it cannot be added as proposed (shown; the row cannot be ticked)
    source: str = ""  # the absolute path it lives at, when it is local (the asset's source URI)


DISCOVER_LIMIT = 100  # proposals one look returns; the page says when there were more
# Seconds a look waits to connect and for each answer, whatever the configured timeouts (which
# the proposed assets keep for their backups): a system that never answers fails the look fast.
DISCOVER_TIMEOUT = 5.0


@dataclass
class Discovery:
    """What one look into a system found: at most ``limit`` proposals, and what the bound left out."""

    proposals: list[Proposal] = field(default_factory=list)
    bounded: str = ""  # said on the page when the bound cut the look short ("showing the first 100 of 240 tables")
    notes: list[str] = field(default_factory=list)  # what else the page should say (keys that fit no prefix)

    @classmethod
    def first(cls, proposals: list[Proposal], *, limit: int, total: int, things: str) -> Discovery:
        """The first ``limit`` of ``proposals`` (``total`` found in all), saying so when some were left out."""
        shown = proposals[:limit]
        bounded = f"Showing the first {len(shown)} of {total} {things}." if total > len(shown) else ""
        return cls(shown, bounded)


CfgT = TypeVar("CfgT")
# ``say(phase, detail="")``: the phase ("swapping in the restored copy") and, optionally, how far
# through it ("40,000 of 120,000 keys"). A new phase is shown at once, a detail at most every few seconds.
PhaseFn = Callable[..., None]


def quiet(phase: str, detail: str = "") -> None:
    """The ``say`` of a connector run outside a recovery run: nobody is watching."""


class Connector(ABC, Generic[CfgT]):
    """One kind of system. Subclasses set ``kind`` and ``config_class`` and register themselves."""

    kind: ClassVar[str]
    config_class: ClassVar[type]
    label: ClassVar[str] = ""
    # Which configuration fields name the system, and which one narrows it to part of it
    # (tables, models, a key prefix): how discovery tells that an asset already covers a proposal.
    system_fields: ClassVar[tuple[str, ...]] = ()
    scope_field: ClassVar[str] = ""

    def __init__(self, config: CfgT | dict[str, Any]) -> None:
        self.config: CfgT = self.parse(config)
        # What restore() created in its target and cleanup() removes; the portal supplies a saved one.
        self.ledger = Ledger()
        # Where a long restore or verify stands, for the run page ("swapping in the restored copy");
        # the portal supplies one that saves it, rate limited.
        self.say: PhaseFn = quiet

    def refuse_full_target(self, target: Any, capture: Capture) -> None:
        """Raise TargetNotEmpty (recording what was found in ``self.ledger``) when ``target`` holds
        data a restore without ``replace`` would refuse. A cheap look, called before any byte is
        read from the vault; the default finds nothing to refuse (``restore`` still checks)."""

    @classmethod
    def parse(cls, config: Any) -> Any:
        return parse_config(cls.config_class, config, kind=cls.kind)

    def config_json(self) -> dict[str, Any]:
        return config_to_json(self.config)

    @abstractmethod
    def snapshot(self, staging: Path) -> Snapshot: ...

    @abstractmethod
    def restore(self, *, restored: Path, capture: Capture, target: Any, replace: bool = False) -> None: ...

    @abstractmethod
    def verify(self, *, capture: Capture, target: Any) -> Verification: ...

    @abstractmethod
    def cleanup(self, *, target: Any) -> None: ...

    def describe(self, capture: Capture) -> str:
        return f"{self.kind} captured as of {capture.data_as_of.isoformat()}"

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any] | None:
        """The configuration of a scratch target a drill restores into, never the source itself.

        ``root`` is a folder only this drill uses (for embedded kinds); ``tag`` is short and
        unique to the drill (for names on a server). None when the kind cannot make one up
        (a drill then needs a target named in its plan step).
        """
        return None

    def target_label(self, config: Any) -> str:
        """One line naming a target, for the run page (never a secret)."""
        cfg = config_to_json(self.parse(config))
        return f"{self.kind}: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if v not in ("", None, [], {}))

    def source_paths(self) -> list[str]:
        """The local files or folders this source reads (none for a server): kept under SOURCE_ROOTS."""
        return []

    def target_paths(self, config: Any) -> list[Path]:
        """The local files or folders a target of this kind lives in (none for a server)."""
        return []

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """Propose assets for what the system holds, reading no more than ``limit`` proposals need."""
        return Discovery()

    def covers(self, config: Any) -> bool:
        """Whether this configuration (an asset's) already captures what ``config`` (a proposal's) names."""
        if not self.system_fields:
            return False
        other = self.parse(config)
        if any(getattr(self.config, f) != getattr(other, f) for f in self.system_fields):
            return False
        if not self.scope_field:
            return True
        mine, theirs = getattr(self.config, self.scope_field), getattr(other, self.scope_field)
        if isinstance(mine, str):  # a key prefix covers every longer prefix
            return str(theirs).startswith(mine)
        return not mine or (bool(theirs) and set(theirs) <= set(mine))

    def check_capture(self, capture: Capture) -> None:
        if capture.kind != self.kind:
            raise KindMismatch(f"A {capture.kind} point cannot be restored by the {self.kind} connector.")

    def staged(self, staging: Path) -> Source:
        return LocalSource(staging)


_REGISTRY: dict[str, type[Connector[Any]]] = {}

ConnT = TypeVar("ConnT", bound=type[Connector[Any]])


def register(cls: ConnT) -> ConnT:
    _REGISTRY[cls.kind] = cls
    return cls


def connector_kinds() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def connector_class(kind: str) -> type[Connector[Any]]:
    _load_all()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ConfigInvalid(f"Unknown connector kind {kind!r}; known: {', '.join(sorted(_REGISTRY))}.") from None


def get_connector(kind: str, config: dict[str, Any]) -> Connector[Any]:
    return connector_class(kind)(config)


def kind_fields(kind: str) -> list[dict[str, Any]]:
    return config_fields(connector_class(kind).config_class)


def _load_all() -> None:
    # Modules register on import; importing lazily keeps heavy optional clients (lancedb)
    # out of processes that never use them.
    import importlib

    for name in KIND_MODULES:
        try:
            importlib.import_module(f"inventory.connectors.{name}")
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("inventory"):
                raise


@contextlib.contextmanager
def staging_dir(parent: Path | None = None) -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="drp-conn-", dir=parent) as tmp:
        yield Path(tmp)
