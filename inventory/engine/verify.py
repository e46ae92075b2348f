"""Verify a point where it is stored, or a restored tree against its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inventory.engine.chunks.manifest import ChunkedManifest
from inventory.engine.chunks.read import verify_chunked
from inventory.engine.crypto import KeyRing
from inventory.engine.errors import UnsafePath
from inventory.engine.format1.read import verify_format1
from inventory.engine.manifest import Manifest
from inventory.engine.progress import CancelFn, ProgressFn, Ticker
from inventory.engine.report import Problem, VerifyReport
from inventory.engine.target import hash_file, manifest_entries, safe_parent
from inventory.engine.vaults import Vault

__all__ = ["Problem", "VerifyReport", "verify_point", "verify_target"]


def verify_point(
    *,
    vault: Vault,
    manifest: Manifest | ChunkedManifest,
    keyring: KeyRing | None = None,
    decrypt: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    check_interval: float = 0.5,
) -> VerifyReport:
    """Check a point where it is stored, without restoring it (either format).

    Shallow by default: every object or chunk a file needs is there at its recorded size
    (format 1 also re-hashes each object, which needs no key). With ``decrypt=True``
    every byte is authenticated and each file's SHA-256 compared: the point is proven
    restorable with the keys at hand. A chunk-store point always needs ``keyring``.
    """
    options: dict[str, Any] = {"progress": progress, "should_cancel": should_cancel, "check_interval": check_interval}
    if isinstance(manifest, Manifest):
        return verify_format1(vault=vault, manifest=manifest, keyring=keyring, decrypt=decrypt, **options)
    if keyring is None:
        raise ValueError("a chunk-store point is read through its key ring")
    return verify_chunked(vault=vault, manifest=manifest, keyring=keyring, decrypt=decrypt, **options)


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
