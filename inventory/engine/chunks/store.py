"""The chunk store of one vault: its salt, its chunk index, and packs of sealed chunks.

Layout inside the vault::

    chunks/config.json            {"format": "dr-portal-chunk-store", "version": 1, "salt": hex}
    chunks/packs/<name>           sealed chunks one after another (about ``pack_size`` bytes)
    chunks/index/<name>           which chunks a backup added: id → pack, offset, sizes, codec

Every object is write-once. An index segment is written only after the packs it
names are durable, and carries an HMAC (the manifest MAC key of its key id), so an
index edited in the vault is refused rather than trusted.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import secrets
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import zstandard

from inventory.engine.chunks.added import AddedChunks
from inventory.engine.chunks.codec import ChunkKeys, SealedChunk
from inventory.engine.chunks.index import ChunkIndex, ChunkIndexBuilder
from inventory.engine.chunks.ref import ChunkRef
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import EngineError, ManifestInvalid, ObjectExists, ObjectLocked, ObjectMissing, VaultFull
from inventory.engine.vaults import ObjectInfo, Vault

STORE_DIR = "chunks"
CONFIG_KEY = f"{STORE_DIR}/config.json"
PACKS_DIR = f"{STORE_DIR}/packs"
INDEX_DIR = f"{STORE_DIR}/index"
STORE_FORMAT = "dr-portal-chunk-store"
INDEX_FORMAT = "dr-portal-chunk-index"
PACK_SIZE = 16 * 1024 * 1024
# A pack also closes at this many chunks, so a pack of tiny files' chunks does not hold
# hundreds of thousands of them in memory while it is filled.
PACK_CHUNKS = 4096
SPOOL_BYTES = 1024 * 1024
# Packs handed to the writer thread and not yet written. The backup goes on cutting,
# hashing and sealing while one pack is written; memory stays two packs at most.
PACKS_IN_FLIGHT = 1


def store_salt(vault: Vault) -> bytes:
    """The vault's chunk-store salt, created on first use (two racing writers agree on one)."""
    for _attempt in range(3):
        try:
            with vault.open(CONFIG_KEY) as stream:
                data = json.loads(stream.read())
            if data.get("format") != STORE_FORMAT or data.get("version") != 1:
                raise ManifestInvalid(f"{CONFIG_KEY} in {vault.uri} is not a chunk store configuration.")
            salt = bytes.fromhex(str(data["salt"]))
            if len(salt) != 32:
                raise ManifestInvalid(f"{CONFIG_KEY} in {vault.uri} has a malformed salt.")
            return salt
        except ObjectMissing:
            record = {"format": STORE_FORMAT, "version": 1, "salt": secrets.token_hex(32)}
            try:
                vault.put(CONFIG_KEY, [json.dumps(record).encode()], retain_until=None, durable=True)
            except ObjectExists:
                continue
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestInvalid(f"{CONFIG_KEY} in {vault.uri} cannot be read ({exc}).") from None
    raise ObjectMissing(f"{CONFIG_KEY} in {vault.uri} could not be created or read.")


class MacLines:
    """Writes JSON lines, zstd-compressed, with an HMAC over the plain lines as the last line."""

    def __init__(self, keyring: KeyRing, key_id: str) -> None:
        self._keyring = keyring
        self._key_id = key_id
        self._mac = hmac.new(keyring.manifest_mac_key(key_id), digestmod="sha256")
        # Spilled to a temporary file past 1 MiB, so a manifest of millions of files
        # costs disk, not memory, until it is uploaded.
        self.buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by blocks()
        self._writer = zstandard.ZstdCompressor(level=3).stream_writer(self.buffer, closefd=False)

    def write(self, record: object) -> None:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        self._mac.update(line)
        self._writer.write(line)

    def finish(self, trailer: dict[str, object]) -> Iterator[bytes]:
        """Write the trailer and the MAC line; returns the compressed object as a stream of blocks."""
        self.write(trailer)
        self._writer.write(json.dumps({"mac": self._mac.hexdigest()}).encode() + b"\n")
        self._writer.close()
        return self._blocks()

    def _blocks(self) -> Iterator[bytes]:
        try:
            self.buffer.seek(0)
            while block := self.buffer.read(1 << 20):
                yield block
        finally:
            self.buffer.close()


def read_mac_lines(
    raw_stream: Any, *, keyring: KeyRing, key_id_of: str | None, what: str, skip: bytes | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the records of a :class:`MacLines` object; the MAC is checked before the last one.

    The first record names the key id (``key_id``) unless ``key_id_of`` is given. Raises
    :class:`ManifestInvalid` when the MAC does not verify or the stream ends early. A line
    (after the first) that starts with ``skip`` is authenticated but not parsed: an empty
    record stands for it, for a reader that only needs to count such lines.
    """
    reader = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw_stream))
    mac: hmac.HMAC | None = None
    pending: bytes | None = None
    try:
        for line in reader:
            if pending is not None:
                record = {} if mac is not None and skip and pending.startswith(skip) else _parse(pending, what)
                if mac is None:
                    key_id = key_id_of or str(record.get("key_id", ""))
                    mac = hmac.new(keyring.manifest_mac_key(key_id), digestmod="sha256")
                mac.update(pending)
                yield record
            pending = line
    except zstandard.ZstdError as exc:
        raise ManifestInvalid(f"{what} is damaged ({exc}).") from None
    if pending is None or mac is None:
        raise ManifestInvalid(f"{what} is empty or truncated.")
    last = _parse(pending, what)
    if not hmac.compare_digest(str(last.get("mac", "")), mac.hexdigest()):
        raise ManifestInvalid(
            f"{what} does not match its signature: it was altered, truncated or written with another key."
        )


def _parse(line: bytes, what: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ManifestInvalid(f"{what} holds a line that is not JSON.") from None
    if not isinstance(record, dict):
        raise ManifestInvalid(f"{what} holds a line that is not an object.")
    return record


class ChunkStore:
    """One backup's view of a vault's chunk store: what exists, and a pack being filled.

    Chunks the vault held before this backup are in a compact :class:`ChunkIndex`
    (about 49 bytes a chunk, measured in docs/benchmarks.md). Chunks this backup adds are
    in a small dictionary while their pack is filled; once it is written they move to
    :class:`AddedChunks` (spooled to disk, about 12 bytes of memory each) and their lines
    to the index segment being spooled, which is stored when the backup ends.

    A full pack is written on one background thread (:class:`_InFlight`) while the
    caller fills the next; at most ``PACKS_IN_FLIGHT`` wait. Packs are written and
    recorded in the order they were filled, and a write that fails is raised to the
    caller at its next :meth:`add`, :meth:`flush` or :meth:`finish_writes`.
    """

    def __init__(self, *, vault: Vault, keyring: KeyRing, key_id: str, pack_size: int = PACK_SIZE) -> None:
        self.vault = vault
        self.keyring = keyring
        self.key_id = key_id
        self.salt = store_salt(vault)
        self.keys = ChunkKeys(keyring, key_id, self.salt)
        self.pack_size = pack_size
        self.known = ChunkIndex.empty()
        self._packs_present: set[str] = set()
        self._current: dict[bytes, ChunkRef] = {}  # chunks of the pack being filled
        self.added = AddedChunks()  # chunks of the packs this backup wrote
        self._index_lines: MacLines | None = None
        self._versions: dict[str, str | None] = {}  # version id of each pack written
        self._pack: list[bytes] = []
        self._pack_bytes = 0
        self._pending: list[tuple[str, int, int, int, int]] = []  # id, offset, stored, size, codec
        self.packs_written = 0
        self.stored_bytes = 0
        self._held: dict[str, datetime | None] = {}
        self.packs_extended = 0
        self.written: list[str] = []
        self._in_flight: deque[_InFlight] = deque()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack-writer")

    def discard_written(self) -> tuple[int, list[str]]:
        """After a failed backup: delete the packs it wrote (no index names them yet).

        Returns how many went and which stay because their lock has not ended (a prune
        takes those once it has). Best effort: a vault that fails here is left as is.
        """
        deleted, kept = 0, []
        while self._in_flight:  # let every write end first, so none lands after the deletes
            job = self._in_flight.popleft()
            if job.future.exception() is None:
                self.written.append(job.name)
            else:
                with contextlib.suppress(EngineError):  # a failed write normally leaves nothing
                    self.vault.delete(job.name)
        for name in self.written:
            try:
                self.vault.delete(name)
                deleted += 1
            except ObjectLocked:
                kept.append(name)
            except EngineError:
                kept.append(name)
        self.written = []
        return deleted, kept

    def load_index(self) -> int:
        """Read every index segment of this key id; returns the number of chunks known.

        Chunks whose pack is no longer in the vault (pruned) are left out, so they are
        stored again rather than referenced.
        """
        packs = self._packs_present = set(self.vault.list(PACKS_DIR))
        builder = ChunkIndexBuilder()
        for key in self.vault.list(INDEX_DIR):
            with self.vault.open(key) as stream:
                records = read_mac_lines(stream, keyring=self.keyring, key_id_of=None, what=f"Chunk index {key}")
                header = next(records, None)
                if header is None or header.get("format") != INDEX_FORMAT:
                    raise ManifestInvalid(f"Chunk index {key} is not a chunk index.")
                if header.get("key_id") != self.key_id or header.get("salt") != self.salt.hex():
                    for _record in records:  # still authenticate it, but its chunks are not ours to reuse
                        pass
                    continue
                for record in records:
                    if "c" in record:
                        ref = ChunkRef.from_json(record["c"])
                        if ref.pack in packs:
                            builder.add(ref)
        self.known = builder.build()
        return len(self.known)

    def has_pack(self, pack: str) -> bool:
        """Whether ``pack`` was in the vault when the index was loaded (a prune takes whole packs)."""
        return pack in self._packs_present

    def lookup(self, chunk_id: str) -> ChunkRef | None:
        raw = bytes.fromhex(chunk_id)
        found = self._current.get(raw)
        for job in self._in_flight:
            found = found or job.chunks.get(raw)
        return found or self.added.get(raw) or self.known.get(raw)

    def hold(self, ref: ChunkRef, *, retain_until: datetime | None) -> None:
        """Keep a reused chunk's pack at least as long as the point now referencing it."""
        if retain_until is None:
            return
        held = self._held.get(ref.pack)
        if held is not None and held >= retain_until:
            return
        if self._pack and ref.pack == self._pack_name:
            return  # written by this backup, with this retention
        info = self.vault.stat(ref.pack)
        if info is None:
            raise ObjectMissing(f"Pack {ref.pack} of a reused chunk is gone from {self.vault.uri}.")
        if info.retain_until is None or info.retain_until < retain_until:
            info = self.vault.extend_retention(ref.pack, retain_until)
            self.packs_extended += 1
        self._held[ref.pack] = info.retain_until

    def add(self, chunk_id: str, plain: bytes | memoryview, *, retain_until: datetime | None) -> ChunkRef:
        """Seal and queue a chunk that the store does not hold yet; returns where it will be."""
        return self.add_sealed(chunk_id, self.keys.seal(chunk_id, plain), len(plain), retain_until=retain_until)

    def add_sealed(self, chunk_id: str, sealed: SealedChunk, size: int, *, retain_until: datetime | None) -> ChunkRef:
        """Queue a chunk of ``size`` plain bytes sealed elsewhere (:mod:`.pipeline`); returns where it will be."""
        if self._pack_bytes and (
            self._pack_bytes + len(sealed.data) > self.pack_size or len(self._pending) >= PACK_CHUNKS
        ):
            self.flush(retain_until=retain_until)
        if not self._pack:
            self._pack_name = f"{PACKS_DIR}/{secrets.token_hex(16)}"
        offset = self._pack_bytes
        self._pack.append(sealed.data)
        self._pack_bytes += len(sealed.data)
        self._pending.append((chunk_id, offset, len(sealed.data), size, sealed.codec))
        ref = ChunkRef(chunk_id, self._pack_name, offset, len(sealed.data), size, sealed.codec)
        self._current[bytes.fromhex(chunk_id)] = ref
        return ref

    def flush(self, *, retain_until: datetime | None) -> None:
        """Hand the pack being filled to the writer thread (not yet durable: ``vault.sync()`` before indexing it)."""
        if not self._pack:
            return
        name, data = self._pack_name, self._pack
        job = _InFlight(
            name=name,
            future=self._writer.submit(self.vault.put, name, data, retain_until=retain_until, durable=False),
            pending=self._pending,
            chunks=self._current,
            size=self._pack_bytes,
        )
        self._held[name] = retain_until
        self._in_flight.append(job)
        self._pack, self._pack_bytes, self._pending, self._current = [], 0, [], {}
        while len(self._in_flight) > PACKS_IN_FLIGHT:
            self._complete_oldest()

    def finish_writes(self, *, retain_until: datetime | None) -> None:
        """Write the last pack and wait until every pack is written and recorded."""
        self.flush(retain_until=retain_until)
        while self._in_flight:
            self._complete_oldest()

    def _complete_oldest(self) -> None:
        job = self._in_flight[0]
        info: ObjectInfo = job.future.result()  # the writer's error, if any, is raised here
        self._in_flight.popleft()
        name, written = job.name, job.size
        self.written.append(name)
        if info.size != written:
            raise VaultFull(f"The vault stored {info.size} of {written} bytes of pack {name}.")
        self._versions[name] = info.version_id
        refs = [
            ChunkRef(chunk_id, name, offset, stored, size, codec, info.version_id)
            for chunk_id, offset, stored, size, codec in job.pending
        ]
        self.added.add_pack(refs)
        if self._index_lines is None:
            self._index_lines = MacLines(self.keyring, self.key_id)
            self._index_lines.write(
                {"format": INDEX_FORMAT, "version": 1, "key_id": self.key_id, "salt": self.salt.hex()}
            )
        for ref in refs:
            self._index_lines.write({"c": ref.to_json()})
        self.packs_written += 1
        self.stored_bytes += written

    @property
    def pending_bytes(self) -> int:
        """Sealed bytes of the pack being filled and of packs still being written."""
        return self._pack_bytes + sum(job.size for job in self._in_flight)

    def waiting(self, refs: tuple[ChunkRef, ...]) -> bool:
        """True while one of ``refs`` is in a pack not written yet (its version is unknown)."""
        unwritten = {job.name for job in self._in_flight}
        if self._pack:
            unwritten.add(self._pack_name)
        return bool(unwritten) and any(ref.pack in unwritten for ref in refs)

    def resolve(self, ref: ChunkRef) -> ChunkRef:
        """The final reference of a chunk (with the pack's version id once the pack is written)."""
        if ref.version_id is None and self._versions.get(ref.pack) is not None:
            return ChunkRef(
                ref.chunk_id, ref.pack, ref.offset, ref.stored, ref.size, ref.codec, self._versions[ref.pack]
            )
        return ref

    def write_index(self, *, name: str, retain_until: datetime | None) -> str | None:
        """Record the chunks this backup added (after their packs are durable)."""
        lines, self._index_lines = self._index_lines, None
        if lines is None:
            return None
        key = f"{INDEX_DIR}/{name}"
        self.vault.put(key, lines.finish({"chunks": len(self.added)}), retain_until=retain_until, durable=True)
        return key

    def close(self) -> None:
        """Let go of the writer thread and the spooled files (the index segment's and the added chunks')."""
        self._writer.shutdown(wait=True)
        if self._index_lines is not None:
            self._index_lines.buffer.close()
            self._index_lines = None
        self.added.close()


@dataclass
class _InFlight:
    """A pack handed to the writer thread: its name, the write, and its chunks' records."""

    name: str
    future: Future[ObjectInfo]
    pending: list[tuple[str, int, int, int, int]]
    chunks: dict[bytes, ChunkRef]
    size: int
