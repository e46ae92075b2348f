"""A Lance table's files at one version: linked into a snapshot, put back into a target.

Lance never rewrites a file: a write adds data files and a new manifest under
``_versions/`` (named ``N.manifest``, or ``2^64-1-N`` in the newer naming). The files a
version ``N`` reads are therefore already final when ``N`` is pinned, so hard links (a
copy across filesystems) made after pinning are that version, whatever is written
meanwhile. Manifests of later versions and the transactions that made them are left out,
so the copy opens at ``N``; data files a later version added may ride along unused.
Files still being written are never taken: object-store staging files (``…#n``) and the
hidden temporaries (``.tmp…``) a writer renames into place, which a concurrent write can
remove at any moment.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from inventory.connectors.errors import SourceChanged

_U64 = 2**64 - 1


def manifest_version(name: str) -> int | None:
    stem = name.removesuffix(".manifest")
    if stem == name or not stem.isdigit():
        return None
    number = int(stem)
    return _U64 - number if number > 2**63 else number


def _wanted(rel: Path, version: int) -> bool:
    if "#" in rel.name or rel.name.startswith("."):
        return False
    top = rel.parts[0]
    if top == "_versions":
        found = manifest_version(rel.name)
        return found is not None and found <= version
    if top == "_transactions":
        # ``{read_version}-{uuid}.txn``: version N's own was read at N-1; anything else
        # here belongs to a later write and is not needed to open N.
        head = rel.name.split("-", 1)[0]
        return head.isdigit() and int(head) < version
    return True


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(src, dst)


def link_version(src: Path, dst: Path, version: int) -> int:
    """Link the files of ``src`` that version ``version`` reads into ``dst``; returns their bytes."""
    if not (src / "_versions").is_dir():
        raise SourceChanged(f"{src} is not a Lance table directory (no _versions).")
    total = 0
    has_manifest = False
    for folder, _dirs, files in os.walk(src):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(src)
            if not _wanted(rel, version):
                continue
            try:
                link_or_copy(path, dst / rel)
                total += path.stat().st_size
            except FileNotFoundError:
                raise SourceChanged(
                    f"{rel} of {src.name} was removed while version {version} was captured "
                    "(a clean-up or compaction ran); take the backup again."
                ) from None
            has_manifest |= rel.parts[0] == "_versions" and manifest_version(name) == version
    if not has_manifest:
        raise SourceChanged(f"Version {version} of {src.name} has no manifest any more (cleaned up during capture).")
    return total


def copy_table(src: Path, dst: Path) -> None:
    """Put a restored table directory at ``dst`` (links where the filesystem allows)."""
    for folder, _dirs, files in os.walk(src):
        for name in files:
            path = Path(folder) / name
            link_or_copy(path, dst / path.relative_to(src))
