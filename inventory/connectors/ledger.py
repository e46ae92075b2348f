"""What a restore created in its target, written down as it goes, so clean-up removes exactly that.

A drill target may already hold things the drill did not make (a model someone registered
in the drill registry, keys in the drill Redis db). Clean-up must never touch those, and
must remove everything the restore made, even when the restore failed halfway. So each
restore hook records what it creates *before or as* it creates it (``created``), what it
found there and left alone (``kept``), and clean-up works from that record alone, marking
each entry ``removed`` or ``kept`` with the reason. The portal saves the record after each
change (``save``), so a worker that dies mid-restore still leaves a complete list behind.
An entry recorded with ``listed=False`` is bookkeeping for clean-up (a tag the restore put on what
it made), not a thing in the target: the run page's lists leave it out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

CREATED, REMOVED, KEPT = "created", "removed", "kept"


class Ledger:
    """Entries ``{kind, name, state, why?, member?}``; a group's members write into one ledger."""

    def __init__(
        self,
        items: Iterable[dict[str, Any]] | None = None,
        save: Callable[[list[dict[str, Any]]], None] | None = None,
        *,
        parent: Ledger | None = None,
        member: str = "",
    ) -> None:
        self._items: list[dict[str, Any]] = [dict(i) for i in items or []]
        self._save = save
        self._parent = parent
        self._member = member
        # A restore may record from worker threads (MLflow writes runs several at once); only
        # the thread that made the ledger saves it (the portal's database connection is that
        # thread's), the others leave it marked unsaved until that thread's next change or flush().
        self._lock = threading.RLock()
        self._owner = threading.get_ident()
        self._unsaved = False

    @property
    def root(self) -> Ledger:
        return self._parent.root if self._parent is not None else self

    @property
    def items(self) -> list[dict[str, Any]]:
        """This ledger's entries (a member's view holds only that member's)."""
        if self._parent is None:
            return self._items
        return [i for i in self._parent.items if i.get("member") == self._member]

    def member(self, name: str) -> Ledger:
        return Ledger(parent=self, member=name)

    def _changed(self) -> None:
        root = self.root
        root._unsaved = True
        if threading.get_ident() == root._owner:
            root.flush()

    def flush(self) -> None:
        """Save the record if a change is unsaved (call on the thread that made the ledger)."""
        root = self.root
        with root._lock:
            if root._unsaved and root._save is not None:
                root._save([dict(i) for i in root._items])
            root._unsaved = False

    def _find(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((i for i in self.items if i["kind"] == kind and i["name"] == name), None)

    def created(self, kind: str, names: Iterable[str], **extra: Any) -> None:
        """Record things about to be made (call before making them: a crash in between leaves a
        name clean-up finds missing, which is harmless; the other order could leave one unrecorded)."""
        with self.root._lock:
            fresh = False
            for name in names:
                found = self._find(kind, name)
                if found is None:
                    entry = {"kind": kind, "name": name, "state": CREATED, **extra}
                    if self._member:
                        entry["member"] = self._member
                    self.root._items.append(entry)
                    fresh = True
                elif found.get("state") == REMOVED:
                    # Made again after a clean-up removed it (a retried or reopened restore): ours again.
                    found.pop("note", None)  # how it was removed: no longer so
                    found.update(state=CREATED, **extra)
                    fresh = True
        if fresh:
            self._changed()

    def kept(self, kind: str, name: str, why: str) -> None:
        """Something clean-up leaves where it is, and why (it was there before, or removing it failed)."""
        entry = self._find(kind, name)
        if entry is None:
            entry = {"kind": kind, "name": name}
            if self._member:
                entry["member"] = self._member
            self.root._items.append(entry)
        entry.update(state=KEPT, why=why)
        self._changed()

    def found_before(self, kind: str, name: str, why: str) -> None:
        """A restore refused because the target holds this: kept, unless this same run made it
        (a second restore into a target the first filled), which clean-up must still remove."""
        entry = self._find(kind, name)
        if entry is None or entry.get("state") != CREATED:
            self.kept(kind, name, why)

    def removed(self, kind: str, name: str, *, note: str = "") -> None:
        """Clean-up removed it; ``note`` says what people should know of how (a run MLflow only marks deleted)."""
        entry = self._find(kind, name)
        if entry is not None:
            entry["state"] = REMOVED
            if note:
                entry["note"] = note
            self._changed()

    def forget(self, kind: str, name: str) -> None:
        """No longer ours to remove (a staged copy renamed over the real target in a recovery)."""
        entry = self._find(kind, name)
        if entry is not None:
            self.root._items.remove(entry)
            self._changed()

    def names(self, kind: str, state: str = CREATED) -> list[str]:
        return [i["name"] for i in self.items if i["kind"] == kind and i.get("state") == state]

    def names_left(self) -> bool:
        """Whether anything recorded as created is still there (not yet removed or kept)."""
        return any(i.get("state") == CREATED for i in self.items)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._find(kind, name)


def summary(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{"removed": [...], "kept": [...], "left": [...], "notes": [...]}`` lines for a run page
    (``notes``: each different note of the removed entries, once)."""
    out: dict[str, list[str]] = {"removed": [], "kept": [], "left": [], "notes": []}
    for item in items:
        if item.get("listed") is False:
            continue
        where = f"{item['member']}: " if item.get("member") else ""
        line = f"{where}{item['kind']} {item['name']}"
        state = item.get("state")
        if state == REMOVED:
            out["removed"].append(line)
            note = f"{where}{item['note']}" if item.get("note") else ""
            if note and note not in out["notes"]:
                out["notes"].append(note)
        elif state == KEPT:
            out["kept"].append(f"{line} — {item.get('why', '')}".rstrip(" —"))
        else:
            out["left"].append(line)
    return out


def _counted(kind: str, entries: list[dict[str, Any]]) -> list[str]:
    """One kind's entries for a person: named while there are few, else counted (keys by the keys
    their batches hold, not by batch)."""
    if len(entries) <= 3 and not any(e.get("b64") for e in entries):
        return [f"{kind} {e['name']}" for e in entries]
    n = sum(len(e["b64"]) if e.get("b64") else 1 for e in entries)
    noun = kind.removesuffix("s") if n == 1 else (kind if kind.endswith("s") else f"{kind}s")
    return [f"{n:,} {noun}"]


def brief(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``summary`` for a run page: one line per group member for what was removed and what is left
    ("fraud-online-features: 2,040 keys" where ``summary`` gave a line per batch of 500)."""
    out = summary(items)
    for key in ("removed", "left"):
        members: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for item in items:
            state = item.get("state")
            if state == KEPT or item.get("listed") is False or (state == REMOVED) != (key == "removed"):
                continue
            members.setdefault(item.get("member") or "", {}).setdefault(item["kind"], []).append(item)
        out[key] = [
            f"{member}: " * bool(member) + ", ".join(p for kind, es in kinds.items() for p in _counted(kind, es))
            for member, kinds in members.items()
        ]
    return out
