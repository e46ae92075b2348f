"""Remove what a restore put into a drill target, and nothing else."""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from inventory.engine.errors import UnsafePath
from inventory.engine.manifest import Manifest

if TYPE_CHECKING:
    from inventory.engine.chunks.manifest import ChunkedManifest
    from inventory.engine.crypto import KeyRing
from inventory.engine.target import manifest_entries, part_name, safe_parent


@dataclass
class CleanupResult:
    removed_files: int = 0
    removed_dirs: int = 0
    kept: list[str] = field(default_factory=list)


def cleanup_target(
    *,
    target_dir: Path,
    manifest: Manifest | ChunkedManifest,
    remove_root: bool = True,
    keyring: KeyRing | None = None,
) -> CleanupResult:
    """Remove what a restore of ``manifest`` put under ``target_dir`` (for drill targets).

    Only files the manifest names (and their staging parts) are removed, then folders
    left empty, deepest first; the target itself goes too when empty and ``remove_root``.
    Nothing else is touched and no link is followed, so pointing this at the wrong folder
    removes at most copies of the point's own files. Files the restore did not create are
    reported in ``kept`` by way of the folders that could not be removed.
    """
    result = CleanupResult()
    root = Path(target_dir)
    if root.is_symlink():
        raise UnsafePath(f"Refusing to clean {target_dir}: it is a symbolic link.")
    if not root.exists():
        return result
    root = root.resolve(strict=True)
    if root == Path(root.anchor) or root == Path.home():
        raise UnsafePath(f"Refusing to clean {root}: it is not a restore target.")
    folders: set[Path] = set()
    for entry in manifest_entries(manifest, keyring):
        ancestors = entry.path.split("/")[:-1]
        for depth in range(1, len(ancestors) + 1):
            folders.add(root.joinpath(*ancestors[:depth]))
        parent = safe_parent(root, entry.path, create=False)
        if parent is None:
            continue
        for candidate in (parent / entry.path.rsplit("/", 1)[-1], parent / part_name(entry.path)):
            try:
                info = os.lstat(candidate)
            except FileNotFoundError:
                continue
            if stat_mod.S_ISDIR(info.st_mode):
                result.kept.append(str(candidate.relative_to(root)))
                continue
            os.unlink(candidate)
            result.removed_files += 1
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
            result.removed_dirs += 1
        except OSError:
            if os.path.lexists(folder):
                result.kept.append(str(folder.relative_to(root)) + "/")
    if remove_root:
        with contextlib.suppress(OSError):
            root.rmdir()
    return result
