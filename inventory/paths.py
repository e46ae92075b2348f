"""Which folders a source, a vault or a restore may use, and what a region name may be.

A source path is read by a worker (often as a privileged user) and a vault or
region path is written to, so a name typed into the catalogue must not reach
`/etc/shadow`, `/proc/self/…` or a folder above the one it names:

- regions are identifiers (letters, digits, `.`, `_`, `-`), never a path;
- no path may have a `..` component, and `/proc`, `/sys` and `/dev` are refused always;
- a filesystem source must lie under one of SOURCE_ROOTS, an absolute vault path under
  one of VAULT_ROOTS (a relative one lies under VAR_DIR). Both default to VAR_DIR, where
  the demo keeps its folders. The catalogue refuses what is plainly wrong; the worker
  checks the roots again, after resolving links, right before it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError

from dr_portal.errors import Refused


class PathRefused(Refused):
    code = "path_not_allowed"


REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FORBIDDEN = (Path("/proc"), Path("/sys"), Path("/dev"))


def region_validate(value: str, *, field: str) -> None:
    if value and (not REGION.match(value) or ".." in value):
        raise ValidationError({field: "A region is a name such as eu-west-1 (letters, digits, '.', '_', '-')."})


def _local(uri: str) -> str | None:
    if uri.startswith("s3://") or ("://" in uri and not uri.startswith("file://")):
        return None
    return uri[len("file://") :] if uri.startswith("file://") else uri


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def path_refusal(path: str, *, roots: Iterable[Path | str], resolve: bool) -> str | None:
    """Why `path` may not be used (None when it may). With `resolve`, links are followed first."""
    pure = PurePosixPath(path)
    if ".." in pure.parts:
        return f"{path} climbs out of its folder with '..'."
    real = Path(os.path.realpath(path)) if resolve else Path(path)
    if _within(real, FORBIDDEN) or _within(Path(path), FORBIDDEN):
        return f"{path} is a system folder (/proc, /sys, /dev) and is never backed up or written."
    resolved_roots = [Path(os.path.realpath(root)) if resolve else Path(root) for root in roots]
    if not _within(real, resolved_roots):
        return f"{path} is outside the allowed folders ({', '.join(str(r) for r in resolved_roots)})."
    return None


def source_validate(uri: str, *, field: str = "source_uri") -> None:
    """For the catalogue: no `..`, no system folders (the roots are checked again when a worker reads)."""
    local = _local(uri)
    if local and local.startswith("/"):
        why = path_refusal(local, roots=[Path("/")], resolve=False)
        if why:
            raise ValidationError({field: why})


def source_root_refusal(uri: str) -> str | None:
    """For the worker, right before reading: the resolved source must lie under SOURCE_ROOTS."""
    local = _local(uri)
    if local is None:
        return None
    return path_refusal(local, roots=settings.SOURCE_ROOTS, resolve=True)


def vault_path_validate(path: str, *, field: str = "config") -> None:
    """A filesystem vault's path: relative under VAR_DIR, absolute under VAULT_ROOTS; never `..`."""
    if ".." in PurePosixPath(path).parts:
        raise ValidationError({field: f"The vault path {path} climbs out of its folder with '..'."})
    if path.startswith("/"):
        why = path_refusal(path, roots=settings.VAULT_ROOTS, resolve=True)
        if why:
            raise ValidationError({field: f"The vault path {why}"})


SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")


def portal_own_paths() -> list[Path]:
    """The portal's own live state: VAR_DIR and, with SQLite, its database file and sidecars."""
    own = [Path(os.path.realpath(settings.VAR_DIR))]
    db = settings.DATABASES.get("default", {})
    if "sqlite" in str(db.get("ENGINE", "")) and str(db.get("NAME", "")) not in ("", ":memory:"):
        name = os.path.realpath(str(db["NAME"]))
        own += [Path(name + suffix) for suffix in SQLITE_SIDECARS]
    return own


def portal_overlap_refusal(path: str | Path) -> str | None:
    """Why a restore or clean-up may not write or remove ``path``: it is the portal's VAR_DIR (or a
    folder above it), or the portal's own SQLite database, its -wal/-shm/-journal, or a folder above
    them. Folders inside VAR_DIR (drills, staging) stay allowed. Links are followed first."""
    real = Path(os.path.realpath(path))
    var_dir, *db_files = portal_own_paths()
    if real == var_dir or real in var_dir.parents:
        return f"{path} is (or holds) the portal's own data folder {var_dir}; it is never restored into or removed."
    for own in db_files:
        if real == own or real in own.parents:
            return f"{path} is (or holds) the portal's own database {own}; it is never restored into or removed."
    return None


def portal_overlap_refuse(path: str | Path) -> None:
    why = portal_overlap_refusal(path)
    if why:
        raise PathRefused(why)
