"""Garbage collection of the chunk store: mark the packs live points use, sweep the rest.

Prune and backups exclude each other through lock objects under ``chunks/locks/``: each
side writes its own lock first and then looks for the other's, so when both start at
once at least one of them sees the other and steps back (a backup raises
:class:`VaultUnavailable`, which callers retry; a prune reports that it deferred). A
lock older than ``stale_after`` is one left by a killed process and is ignored.

The sweep works per pack: a pack goes only when no point's manifest references any
of its chunks — data chunks, or the parts that hold a point's file entries — and its
retention has ended. Index segments whose packs are all gone
go too. Re-running a prune that was killed half-way finishes the job: everything it
does is idempotent, and backups skip index entries whose pack is missing.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory.engine.catalog import point_prefixes
from inventory.engine.chunks.manifest import read_manifest_v2
from inventory.engine.chunks.store import INDEX_DIR, PACKS_DIR, STORE_DIR, ChunkRef, read_mac_lines
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import EngineError, ObjectLocked, ObjectMissing, VaultUnavailable
from inventory.engine.fmt import format_utc, human_size, parse_utc
from inventory.engine.vaults import Vault

LOCKS_DIR = f"{STORE_DIR}/locks"
STALE_AFTER = timedelta(hours=6)


def _locks(vault: Vault, kind: str, *, now: datetime, stale_after: timedelta, mine: str) -> list[str]:
    found = []
    for key in vault.list(LOCKS_DIR):
        name = key.rsplit("/", 1)[-1]
        if key == mine or not name.startswith(f"{kind}-"):
            continue
        try:
            with vault.open(key) as stream:
                started = parse_utc(json.loads(stream.read())["started"])
        except (EngineError, ValueError, KeyError, TypeError):
            continue  # vanished meanwhile or unreadable: not a live holder
        if now - started < stale_after:
            found.append(key)
    return found


class StoreLock:
    """A backup's or a prune's claim on the chunk store (see the module docstring)."""

    def __init__(self, vault: Vault, kind: str, *, stale_after: timedelta = STALE_AFTER) -> None:
        self.vault = vault
        self.kind = kind
        self.stale_after = stale_after
        self.key = f"{LOCKS_DIR}/{kind}-{secrets.token_hex(8)}"

    def acquire(self) -> list[str]:
        """Write this lock, then return the live locks of the other kind (empty: we hold the store)."""
        now = self.vault.now()
        body = json.dumps({"kind": self.kind, "started": format_utc(now)}).encode()
        self.vault.put(self.key, [body], retain_until=None, durable=True)
        other = "prune" if self.kind == "backup" else "backup"
        return _locks(self.vault, other, now=now, stale_after=self.stale_after, mine=self.key)

    def release(self) -> None:
        with contextlib.suppress(ObjectMissing):
            self.vault.delete(self.key)


def backup_lock(vault: Vault) -> StoreLock:
    """Claim the store for a backup; :class:`VaultUnavailable` while a prune runs."""
    lock = StoreLock(vault, "backup")
    if lock.acquire():
        lock.release()
        raise VaultUnavailable(f"A prune of the chunk store in {vault.uri} is running; the backup will be retried.")
    return lock


@dataclass
class PruneReport:
    deferred: bool = False
    points: int = 0
    packs_live: int = 0
    packs_deleted: int = 0
    bytes_reclaimed: int = 0
    index_deleted: int = 0
    kept_locked: list[tuple[str, datetime]] = field(default_factory=list)

    def summary(self) -> str:
        if self.deferred:
            return "Prune deferred: a backup is writing to the chunk store."
        text = (
            f"{self.points} points reference {self.packs_live} packs; deleted {self.packs_deleted} packs "
            f"({human_size(self.bytes_reclaimed)} reclaimed) and {self.index_deleted} index segments."
        )
        if self.kept_locked:
            soonest = min(until for _key, until in self.kept_locked)
            text += (
                f" {len(self.kept_locked)} unreferenced packs are still retained; the first can go after "
                f"{format_utc(soonest)}."
            )
        return text


def prune_chunks(
    *,
    vault: Vault,
    keyring: KeyRing,
    stale_after: timedelta = STALE_AFTER,
    before_sweep: Callable[[], None] | None = None,
) -> PruneReport:
    """Delete packs (and index segments) no point references and no retention holds.

    ``before_sweep`` is called between mark and sweep (tests use it to interleave).
    Raises if a point's manifest cannot be read: with a reference unknown, nothing may go.
    """
    report = PruneReport()
    lock = StoreLock(vault, "prune", stale_after=stale_after)
    if lock.acquire():
        lock.release()
        report.deferred = True
        return report
    try:
        live: set[str] = set()
        for prefix, version in point_prefixes(vault):
            if version != 2:
                continue
            report.points += 1
            # The point object is authenticated first; files() then checks each part it reads.
            manifest = read_manifest_v2(vault=vault, point=prefix, keyring=keyring, entries=False)
            live.update(ref.pack for ref in manifest.parts(keyring))  # the chunks holding its entries
            for entry in manifest.files(keyring):
                live.update(ref.pack for ref in entry.chunks)
        report.packs_live = len(live)
        if before_sweep is not None:
            before_sweep()
        now = vault.now()
        gone: set[str] = set()
        for key in list(vault.list(PACKS_DIR)):
            if key in live:
                continue
            info = vault.stat(key)
            if info is None:
                gone.add(key)
                continue
            if info.locked(now):
                assert info.retain_until is not None
                report.kept_locked.append((key, info.retain_until))
                continue
            try:
                vault.delete(key)
            except ObjectLocked:
                report.kept_locked.append((key, info.retain_until or now))
                continue
            gone.add(key)
            report.packs_deleted += 1
            report.bytes_reclaimed += info.size
        remaining = set(vault.list(PACKS_DIR))
        for key in list(vault.list(INDEX_DIR)):
            packs = _index_packs(vault, key, keyring)
            if packs is not None and not (packs & remaining):
                info = vault.stat(key)
                if info is not None and not info.locked(now):
                    vault.delete(key)
                    report.index_deleted += 1
    finally:
        lock.release()
    return report


def _index_packs(vault: Vault, key: str, keyring: KeyRing) -> set[str] | None:
    try:
        with vault.open(key) as stream:
            return {
                ChunkRef.from_json(record["c"]).pack
                for record in read_mac_lines(stream, keyring=keyring, key_id_of=None, what=f"Chunk index {key}")
                if "c" in record
            }
    except EngineError:
        return None  # another key's or unreadable: leave it
