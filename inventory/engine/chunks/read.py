"""Read points of the chunk store (manifest format 2): chunks for a restore, and verification in place."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Literal

from inventory.engine.chunks.codec import ChunkKeys
from inventory.engine.chunks.prefetch import Prefetcher
from inventory.engine.chunks.store import ChunkRef
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import CorruptObject, DataMissing, IntegrityError, ObjectMissing
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.report import Problem, VerifyReport
from inventory.engine.vaults import Vault

if TYPE_CHECKING:
    # Only named: the manifest reads its parts through read_chunk, so importing it here would be a cycle.
    from inventory.engine.chunks.manifest import ChunkedFile, ChunkedManifest

# How an error names what could not be read: a file's chunk, or a part of a point's entry list.
# The texts are what people read in a failed restore or verification; tests pin them.
_WORDING: dict[str, dict[str, str]] = {
    "chunk": {
        "missing": "{at}: chunk {chunk}… is missing (its pack {pack} is not in the vault). The target was not changed.",
        "truncated": "{at}: chunk {chunk}… is truncated in pack {pack} ({got} of {stored} bytes).",
        "corrupt": "{at}: {exc}.",
    },
    "part": {
        "missing": "{at}: its part {chunk}… is missing (pack {pack} is not in the vault).",
        "truncated": "{at}: its part {chunk}… is truncated in pack {pack} ({got} of {stored} bytes).",
        "corrupt": "{at}: part {exc}.",
    },
}


def _keys(manifest: ChunkedManifest, keyring: KeyRing) -> ChunkKeys:
    return ChunkKeys(keyring, manifest.key_id, bytes.fromhex(manifest.salt))


def read_chunk(
    vault: Vault, keys: ChunkKeys, ref: ChunkRef, *, path: str, kind: Literal["chunk", "part"] = "chunk"
) -> bytes:
    """One chunk's plaintext, proven; errors name ``path`` and the chunk.

    ``kind="part"`` words the errors for a part of a point's entry list, ``path`` then
    being the point object's key.
    """
    wording = _WORDING[kind]
    names = {"at": path, "chunk": ref.chunk_id[:16], "pack": ref.pack}
    try:
        with vault.open(ref.pack, version_id=ref.version_id, offset=ref.offset, length=ref.stored) as stream:
            sealed = stream.read(ref.stored + 1)
    except ObjectMissing:
        raise DataMissing(wording["missing"].format(**names), path=path, expected=ref.chunk_id) from None
    if len(sealed) != ref.stored:
        message = wording["truncated"].format(**names, got=len(sealed), stored=ref.stored)
        raise CorruptObject(message, path=path, expected=ref.chunk_id)
    try:
        return keys.open(ref.chunk_id, sealed, plain_size=ref.size)
    except CorruptObject as exc:
        raise CorruptObject(wording["corrupt"].format(**names, exc=exc), path=path, expected=ref.chunk_id) from None


class ChunkReader:
    """What :func:`inventory.engine.restore.restore_tree` needs of a chunk-store point.

    Files come in path order, streamed from the manifest in the vault (so memory does
    not grow with their number); each chunk is authenticated, decompressed and
    re-hashed to its id before its bytes are handed on. While staging, the chunks of
    the next files are opened ahead on helper threads (:class:`Prefetcher`).
    """

    def __init__(self, *, vault: Vault, manifest: ChunkedManifest, keyring: KeyRing) -> None:
        self.vault = vault
        self.manifest = manifest
        self.keyring = keyring
        self.keys = _keys(manifest, keyring)
        self.total_files = manifest.total_files
        self.total_bytes = manifest.total_bytes
        self._ahead: Prefetcher | None = None

    def entries(self) -> Iterable[ChunkedFile]:
        return self.manifest.files(self.keyring)

    def staging(self, wanted: Callable[[ChunkedFile], bool]) -> Iterable[ChunkedFile]:
        """The entries, with the chunks of those ``wanted`` says will be staged read ahead."""
        if self._ahead is not None:
            self._ahead.close()
        self._ahead = Prefetcher(self._read)
        return self._ahead.entries(self.entries(), wanted)

    def _read(self, ref: ChunkRef, path: str) -> bytes:
        return read_chunk(self.vault, self.keys, ref, path=path)

    def plain(self, entry: ChunkedFile) -> Generator[bytes, None, None]:
        if self._ahead is not None:
            yield from self._ahead.plain(entry)
            return
        for ref in entry.chunks:
            yield read_chunk(self.vault, self.keys, ref, path=entry.path)

    def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.close()


def verify_chunked(
    *,
    vault: Vault,
    manifest: ChunkedManifest,
    keyring: KeyRing,
    decrypt: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Check a format-2 point in the vault.

    Shallow (default): every referenced chunk's pack exists and holds its byte range.
    Deep (``decrypt=True``): every chunk is read, authenticated, decompressed and
    re-hashed to its id, and each file's SHA-256 compared. Problems name file and chunk.
    """
    keys = _keys(manifest, keyring)
    report = VerifyReport()
    sizes: dict[str, int | None] = {}
    ticker = Ticker(
        total=manifest.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="Verify",
    )
    ticker.files_total = manifest.total_files
    try:
        for entry in manifest.files(keyring):
            report.checked += 1
            problem = _check_entry(vault, keys, entry, sizes, decrypt=decrypt)
            if problem is not None:
                report.problems.append(problem)
            else:
                report.bytes_checked += entry.size
            ticker.add(entry.size)
            ticker.files_done += 1
    except IntegrityError as exc:
        report.problems.append(Problem(path=manifest.manifest_key, problem=str(exc)))
        report.point_problem = str(exc)
    ticker.finish()
    return report


def _check_entry(
    vault: Vault, keys: ChunkKeys, entry: ChunkedFile, sizes: dict[str, int | None], *, decrypt: bool
) -> Problem | None:
    digest = hashlib.sha256()
    for ref in entry.chunks:
        if ref.pack not in sizes:
            info = vault.stat(ref.pack)
            sizes[ref.pack] = None if info is None else info.size
        pack_size = sizes[ref.pack]
        if pack_size is None:
            return Problem(path=entry.path, problem=f"chunk {ref.chunk_id[:16]}… is missing (pack {ref.pack})")
        if pack_size < ref.offset + ref.stored:
            return Problem(path=entry.path, problem=f"chunk {ref.chunk_id[:16]}… is cut short in pack {ref.pack}")
        if decrypt:
            try:
                digest.update(read_chunk(vault, keys, ref, path=entry.path))
            except (CorruptObject, DataMissing) as exc:
                return Problem(path=entry.path, problem=str(exc))
    if decrypt and digest.hexdigest() != entry.sha256:
        return Problem(
            path=entry.path, problem="content hash differs", expected=entry.sha256, actual=digest.hexdigest()
        )
    return None
