"""Restores, verification and clean-up of points through the engine, for runs and the verifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from inventory import engine
from inventory.engine.fmt import human_size
from inventory.engine.target import free_bytes, iter_part_files
from inventory.models import Vault
from inventory.paths import portal_overlap_refusal
from inventory.vault_io.common import BackupStopped, ProgressFn, VaultIOFailure, _Pacer, keyring, open_vault


def verify_point(*, vault: Vault, manifest: dict[str, Any], decrypt: bool = False) -> engine.VerifyReport:
    """Check a point's objects where they are stored (shallow; with `decrypt`, every byte authenticated).

    Problems with the point itself (a changed or missing object, an altered
    manifest) come back in the report. A vault that cannot be reached or a
    key that is not loaded raise `VaultIOFailure`: they say nothing about the
    point's bytes, so they must not be taken for corruption.
    """
    try:
        ring = keyring()
        if str(manifest.get("key_id")) not in ring:
            raise VaultIOFailure(
                "key_missing", f"Key {manifest.get('key_id')!r} is not loaded, so the point cannot be checked."
            )
        try:
            parsed = _engine_manifest(manifest, vault)
        except engine.IntegrityError as exc:
            report = engine.VerifyReport(point_problem=str(exc))
            report.problems.append(engine.Problem(path=f"{manifest.get('point')}/manifest", problem=str(exc)))
            return report
        return engine.verify_point(vault=open_vault(vault), manifest=parsed, keyring=ring, decrypt=decrypt)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def _engine_manifest(manifest: dict[str, Any], vault: Vault | None) -> engine.Manifest | engine.ChunkedManifest:
    if manifest.get("version") == 2:
        if vault is None:
            raise VaultIOFailure("vault_config", "A chunk-store point can only be read through its vault.")
        return engine.read_manifest_v2(vault=open_vault(vault), point=str(manifest["point"]), keyring=keyring())
    return engine.Manifest.from_json(manifest)


_FILE_FAILURE_WORDS = {
    "corrupt_object": "A stored object of the recovery point is damaged; the target was not changed.",
    "data_missing": "An object of the recovery point is missing from its vault; the target was not changed.",
    "unsafe_path": "A file of the recovery point would land outside the restore target, or a folder is in its way.",
}


def _file_failure(exc: engine.EngineError) -> VaultIOFailure:
    """A failure about one file of the point, told in words without the file's name or digests.

    The engine's own message names the file; it goes to the evidence with the file and both
    digests, which only people who may restore see (dr_portal/accounts/contents.py). Free text
    (the step's error, the run's, the point's note, the audit reason) stays file-free.
    """
    words = _FILE_FAILURE_WORDS.get(exc.code, "A file of the recovery point failed its integrity check.")
    evidence: dict[str, Any] = {"file_detail": str(exc)}
    if isinstance(exc, engine.IntegrityError):
        evidence.update(file=exc.path, expected_sha256=exc.expected, actual_sha256=exc.actual)
    return VaultIOFailure(exc.code, words, evidence=evidence)


def _manifest(manifest: dict[str, Any], vault: Vault | None = None) -> engine.Manifest | engine.ChunkedManifest:
    """The engine's manifest of a point: format 1 is in the row, format 2 is read from its vault."""
    try:
        return _engine_manifest(manifest, vault)
    except engine.IntegrityError as exc:
        raise VaultIOFailure(exc.code, f"The recovery point's manifest cannot be read: {exc}") from exc
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def _refuse_portal_own(target_dir: Path) -> None:
    """A restore or clean-up never writes or removes the portal's own VAR_DIR or live database."""
    why = portal_overlap_refusal(target_dir)
    if why:
        raise VaultIOFailure("portal_own_data", why)


def restore_point(
    *,
    vault: Vault,
    manifest: dict[str, Any],
    target_dir: Path,
    progress: ProgressFn,
    max_bytes_per_second: int = 0,
) -> dict[str, Any]:
    """Restore a point into `target_dir` (verified file by file, resumable); returns evidence.

    Raises BackupStopped when `progress` says the work is no longer ours (a
    cancel, a skip, or another worker took over); the engine has then removed
    its staging files, so the target holds what it held before.
    """
    _refuse_portal_own(target_dir)
    pacer = _Pacer(progress, every=settings.RUN_PROGRESS_SECONDS, max_bytes_per_second=max_bytes_per_second)
    try:
        parsed = _manifest(manifest, vault)
        result = engine.restore_tree(
            vault=open_vault(vault),
            manifest=parsed,
            target_dir=target_dir,
            keyring=keyring(),
            progress=pacer,
            should_cancel=pacer.should_cancel,
            resume=True,
            check_interval=pacer.engine_interval,
        )
    except engine.Cancelled:
        raise BackupStopped from None
    except engine.IntegrityError as exc:
        failure = _file_failure(exc)
        _point_damaged(manifest, failure)
        raise failure from exc
    except engine.UnsafePath as exc:
        raise _file_failure(exc) from exc
    except engine.TargetFull as exc:
        raise VaultIOFailure(exc.code, str(exc), evidence={"bytes_needed": exc.needed, "bytes_free": exc.free}) from exc
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc
    except VaultIOFailure as failure:
        if failure.code in INTEGRITY_CODES:
            _point_damaged(manifest, failure)
        raise
    except OSError as exc:
        raise VaultIOFailure("io_error", f"Writing the restore target failed: {exc}.") from exc
    return result.as_evidence()


INTEGRITY_CODES = frozenset({"integrity_error", "corrupt_object", "hash_mismatch", "manifest_invalid", "data_missing"})


def _point_damaged(manifest: dict[str, Any], failure: VaultIOFailure) -> None:
    """A restore proved the point damaged: mark it corrupt, so readiness and the next run see it."""
    from inventory.services.verification import point_mark_damaged  # services call this module

    point_mark_damaged(
        point_prefix=str(manifest.get("point", "")),
        code=failure.code,
        reason=str(failure),
        file=failure.evidence.get("file"),
    )


def restore_space(*, size_bytes: int, target_dir: Path) -> tuple[int, int | None]:
    """(bytes a restore of ``size_bytes`` needs, bytes free where ``target_dir`` will be; None: unknown).

    For a dry run: the nearest existing folder of the target stands for it.
    """
    probe = target_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return size_bytes, free_bytes(probe)


def restore_space_problem(*, size_bytes: int, target_dir: Path, what: str) -> str | None:
    """The sentence a dry run shows when the target has too little room for the point; None if it fits."""
    needed, free = restore_space(size_bytes=size_bytes, target_dir=target_dir)
    if free is None or needed <= free:
        return None
    return (
        f"Restoring {what} needs {human_size(needed)} ({needed} bytes) but {target_dir} has only "
        f"{human_size(free)} ({free} bytes) free."
    )


def verify_restored(
    *, manifest: dict[str, Any], target_dir: Path, progress: ProgressFn, vault: Vault | None = None
) -> engine.VerifyReport:
    """Re-hash a restored tree against the point's manifest (a chunk-store point needs its vault)."""
    pacer = _Pacer(progress, every=settings.RUN_PROGRESS_SECONDS, max_bytes_per_second=0)
    parsed = _manifest(manifest, vault)
    try:
        return engine.verify_target(
            manifest=parsed,
            target_dir=target_dir,
            keyring=keyring() if isinstance(parsed, engine.ChunkedManifest) else None,
            progress=pacer,
            should_cancel=pacer.should_cancel,
            check_interval=pacer.engine_interval,
        )
    except engine.Cancelled:
        raise BackupStopped from None
    except (engine.IntegrityError, engine.UnsafePath) as exc:
        raise _file_failure(exc) from exc
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def cleanup_restored(*, manifest: dict[str, Any], target_dir: Path, vault: Vault | None = None) -> engine.CleanupResult:
    """Remove what a restore of the point put under a drill target, and the target if left empty."""
    _refuse_portal_own(target_dir)
    parsed = _manifest(manifest, vault)
    try:
        ring = keyring() if isinstance(parsed, engine.ChunkedManifest) else None
        return engine.cleanup_target(target_dir=target_dir, manifest=parsed, keyring=ring)
    except engine.EngineError as exc:
        raise VaultIOFailure(exc.code, str(exc)) from exc


def discard_parts(*, target_dir: Path) -> int:
    """Remove staging parts an interrupted restore left in a real target; finished files stay."""
    _refuse_portal_own(target_dir)
    if not target_dir.is_dir():
        return 0
    removed = 0
    for part in list(iter_part_files(target_dir)):
        try:
            part.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
