"""Restore and verify points of the chunk store (manifest format 2), streaming the manifest."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat as stat_mod
from pathlib import Path

from inventory.engine._fsutil import flush
from inventory.engine.backup import CancelFn, ProgressFn, Ticker
from inventory.engine.chunks.codec import ChunkKeys
from inventory.engine.chunks.manifest import ChunkedFile, ChunkedManifest
from inventory.engine.chunks.store import ChunkRef
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import (
    Cancelled,
    CorruptObject,
    EngineError,
    HashMismatch,
    IntegrityError,
    ObjectMissing,
    UnsafePath,
)
from inventory.engine.restore import RestoreResult
from inventory.engine.target import hash_file, part_name, safe_parent, target_root
from inventory.engine.vaults import Vault
from inventory.engine.verify import Problem, VerifyReport


def _keys(manifest: ChunkedManifest, keyring: KeyRing) -> ChunkKeys:
    return ChunkKeys(keyring, manifest.key_id, bytes.fromhex(manifest.salt))


def read_chunk(vault: Vault, keys: ChunkKeys, ref: ChunkRef, *, path: str) -> bytes:
    """One chunk's plaintext, proven; errors name the file and the chunk."""
    try:
        with vault.open(ref.pack, version_id=ref.version_id, offset=ref.offset, length=ref.stored) as stream:
            sealed = stream.read(ref.stored + 1)
    except ObjectMissing:
        raise ObjectMissing(
            f"{path}: chunk {ref.chunk_id[:16]}… is missing (its pack {ref.pack} is not in the vault)."
        ) from None
    if len(sealed) != ref.stored:
        raise CorruptObject(
            f"{path}: chunk {ref.chunk_id[:16]}… is truncated in pack {ref.pack} "
            f"({len(sealed)} of {ref.stored} bytes).",
            path=path,
            expected=ref.chunk_id,
        )
    try:
        return keys.open(ref.chunk_id, sealed, plain_size=ref.size)
    except CorruptObject as exc:
        raise CorruptObject(f"{path}: {exc}.", path=path, expected=ref.chunk_id) from None


def _stage(vault: Vault, keys: ChunkKeys, entry: ChunkedFile, part: str, ticker: Ticker) -> None:
    digest = hashlib.sha256()
    written = 0
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        for ref in entry.chunks:
            plain = read_chunk(vault, keys, ref, path=entry.path)
            view = memoryview(plain)
            while view:
                done = os.write(fd, view)
                view = view[done:]
            digest.update(plain)
            written += len(plain)
            ticker.add(len(plain))
        if digest.hexdigest() != entry.sha256 or written != entry.size:
            raise HashMismatch(
                f"{entry.path}: restored content does not match the manifest: SHA-256 expected {entry.sha256}, "
                f"got {digest.hexdigest()} ({written} of {entry.size} bytes). The target was not changed.",
                path=entry.path,
                expected=entry.sha256,
                actual=digest.hexdigest(),
            )
        os.fchmod(fd, entry.mode)
    except BaseException:
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
    finally:
        if fd >= 0:
            os.close(fd)


def _matches(path: str, entry: ChunkedFile) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat_mod.S_ISREG(info.st_mode) or info.st_size != entry.size:
        return False
    return hash_file(path) == (entry.size, entry.sha256)


def _places(root: Path, entry: ChunkedFile, *, create: bool) -> tuple[str, str] | None:
    parent = safe_parent(root, entry.path, create=create)
    if parent is None:
        return None
    name = entry.path.rsplit("/", 1)[-1]
    return str(parent / name), str(parent / part_name(entry.path))


def restore_chunked(
    *,
    vault: Vault,
    manifest: ChunkedManifest,
    target_dir: Path,
    keyring: KeyRing,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    resume: bool = True,
    check_interval: float = 0.5,
) -> RestoreResult:
    """Restore a format-2 point; same two phases and guarantees as :func:`restore_tree`.

    The manifest is streamed twice (stage, then commit), so memory does not grow with
    the number of files. On an integrity failure or a cancel every staged part is
    removed and the target keeps its previous content.
    """
    keys = _keys(manifest, keyring)
    root = target_root(Path(target_dir))
    result = RestoreResult(target_dir=root, files_total=manifest.total_files, bytes_total=manifest.total_bytes)
    ticker = Ticker(
        total=manifest.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="The restore",
    )
    ticker.files_total = manifest.total_files
    ticker.poll(force=True)
    try:
        for entry in manifest.files(keyring):
            places = _places(root, entry, create=True)
            assert places is not None
            final, part = places
            if os.path.isdir(final) and not os.path.islink(final):
                raise UnsafePath(f"Cannot restore {entry.path}: a folder of that name is in the way in the target.")
            if resume and _matches(final, entry):
                result.files_skipped += 1
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part)
                ticker.add(entry.size)
            elif resume and _matches(part, entry):
                ticker.add(entry.size)
            else:
                _stage(vault, keys, entry, part, ticker)
                result.bytes_restored += entry.size
            ticker.files_done += 1
        ticker.poll(force=True)
    except (Cancelled, IntegrityError, UnsafePath):
        _remove_parts(root, manifest, keyring)
        raise
    parts: list[Path] = []
    for entry in manifest.files(keyring):
        places = _places(root, entry, create=False)
        if places is not None and os.path.exists(places[1]):
            parts.append(Path(places[1]))
    flush(parts, [], anchor=root)
    folders: set[Path] = set()
    for entry in manifest.files(keyring):
        places = _places(root, entry, create=False)
        assert places is not None
        final, part = places
        if os.path.exists(part):
            os.replace(part, final)
            result.files_restored += 1
            folders.add(Path(final).parent)
        result.verified.append(entry.path)
    flush([], folders, anchor=root)
    ticker.finish()
    return result


def _remove_parts(root: Path, manifest: ChunkedManifest, keyring: KeyRing) -> None:
    with contextlib.suppress(EngineError):
        for entry in manifest.files(keyring):
            places = _places(root, entry, create=False)
            if places is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(places[1])


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
            except (CorruptObject, ObjectMissing) as exc:
                return Problem(path=entry.path, problem=str(exc))
    if decrypt and digest.hexdigest() != entry.sha256:
        return Problem(
            path=entry.path, problem="content hash differs", expected=entry.sha256, actual=digest.hexdigest()
        )
    return None
