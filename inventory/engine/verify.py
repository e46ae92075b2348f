"""Verify a point where it is stored, or a restored tree against its manifest."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from inventory.engine.backup import CancelFn, ProgressFn, Ticker
from inventory.engine.crypto import KeyRing, Readable, open_sealed
from inventory.engine.errors import CorruptObject, EngineError, ObjectMissing, UnsafePath
from inventory.engine.manifest import FileEntry, Manifest
from inventory.engine.target import READ_SIZE, hash_file, manifest_entries, safe_parent
from inventory.engine.vaults import Vault

if TYPE_CHECKING:
    from inventory.engine.chunks.manifest import ChunkedManifest


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        hashes = f" (expected {self.expected}, found {self.actual})" if self.expected or self.actual else ""
        return f"{self.path}: {self.problem}{hashes}"


@dataclass
class VerifyReport:
    checked: int = 0
    bytes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"All {self.checked} files verified."
        head = "; ".join(str(p) for p in self.problems[:3])
        more = f" and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        return f"{len(self.problems)} of {self.checked} files failed verification: {head}{more}."


def open_entry(vault: Vault, entry: FileEntry) -> contextlib.AbstractContextManager[Readable]:
    return vault.open(entry.object_key, version_id=entry.version_id, offset=entry.offset, length=entry.stored_size)


def hash_object(vault: Vault, entry: FileEntry) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open_entry(vault, entry) as stream:
        while True:
            data = stream.read(READ_SIZE)
            if not data:
                break
            digest.update(data)
            size += len(data)
    return size, digest.hexdigest()


def verify_point(
    *,
    vault: Vault,
    manifest: Manifest,
    keyring: KeyRing | None = None,
    decrypt: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Check a point where it is stored, without restoring it.

    Always: each object exists and its size and SHA-256 equal those recorded at backup
    (needs no key). With ``keyring``: the manifest's MAC too. With ``decrypt=True`` as
    well: every chunk is authenticated and the plaintext SHA-256 compared, which proves
    the point restorable with the keys at hand.
    """
    report = VerifyReport()
    if keyring is not None:
        try:
            manifest.check_mac(keyring)
        except EngineError as exc:
            report.problems.append(Problem(path=manifest.manifest_key, problem=str(exc)))
            return report
    elif decrypt:
        raise ValueError("decrypt=True needs a keyring")
    total = manifest.total_stored_bytes + (manifest.total_bytes if decrypt else 0)
    ticker = Ticker(total=total, progress=progress, should_cancel=should_cancel, interval=check_interval, what="Verify")
    ticker.files_total = len(manifest.files)
    for entry in manifest.files:
        try:
            size, digest = hash_object(vault, entry)
        except ObjectMissing:
            report.problems.append(Problem(path=entry.path, problem=f"object {entry.object_key} is missing"))
            continue
        ticker.add(size)
        report.checked += 1
        report.bytes_checked += size
        if (size, digest) != (entry.stored_size, entry.stored_sha256):
            report.problems.append(
                Problem(
                    path=entry.path,
                    problem=f"stored object {entry.object_key} changed ({size} bytes, {entry.stored_size} recorded)",
                    expected=entry.stored_sha256,
                    actual=digest,
                )
            )
            continue
        if decrypt and keyring is not None:
            plain = hashlib.sha256()
            try:
                with open_entry(vault, entry) as stream:
                    for chunk in open_sealed(stream, keyring=keyring):
                        plain.update(chunk)
                        ticker.add(len(chunk))
            except (CorruptObject, EngineError) as exc:
                report.problems.append(Problem(path=entry.path, problem=f"cannot be decrypted: {exc}"))
                continue
            if plain.hexdigest() != entry.sha256:
                report.problems.append(
                    Problem(
                        path=entry.path, problem="content hash differs", expected=entry.sha256, actual=plain.hexdigest()
                    )
                )
        ticker.files_done += 1
    ticker.finish()
    return report


def verify_target(
    *,
    manifest: Manifest | ChunkedManifest,
    target_dir: Path,
    keyring: KeyRing | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Re-hash a restored tree against the manifest: every file present, same size, same SHA-256.

    A format-2 manifest is streamed from its vault, which needs ``keyring``.
    """
    report = VerifyReport()
    root = Path(target_dir)
    if not root.is_dir() or root.is_symlink():
        report.problems.append(Problem(path=str(target_dir), problem="the target folder does not exist"))
        return report
    root = root.resolve(strict=True)
    ticker = Ticker(
        total=manifest.total_bytes,
        progress=progress,
        should_cancel=should_cancel,
        interval=check_interval,
        what="Verify",
    )
    ticker.files_total = manifest.total_files
    for entry in manifest_entries(manifest, keyring):
        try:
            parent = safe_parent(root, entry.path, create=False)
        except UnsafePath as exc:
            report.problems.append(Problem(path=entry.path, problem=str(exc)))
            continue
        found = None if parent is None else hash_file(parent / entry.path.rsplit("/", 1)[-1], on_chunk=ticker.add)
        report.checked += 1
        if found is None:
            report.problems.append(Problem(path=entry.path, problem="missing from the target"))
            continue
        size, digest = found
        report.bytes_checked += size
        if (size, digest) != (entry.size, entry.sha256):
            report.problems.append(
                Problem(
                    path=entry.path,
                    problem=f"differs ({size} bytes, {entry.size} expected)",
                    expected=entry.sha256,
                    actual=digest,
                )
            )
        ticker.files_done += 1
    ticker.finish()
    return report
