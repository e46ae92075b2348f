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

from dr_portal.accounts.contents_text import USERINFO
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
    """For the catalogue: no credentials in an address, no `..`, no system folders (the roots are
    checked again when a worker reads)."""
    why = userinfo_refusal(uri, field=field)
    if why:
        raise ValidationError({field: why})
    local = _local(uri)
    if local and local.startswith("/"):
        why = path_refusal(local, roots=[Path("/")], resolve=False)
        if why:
            raise ValidationError({field: why})


def source_root_refusal(uri: str) -> str | None:
    """For the worker, right before reading a folder or S3 source (and discovery): no credentials in
    the address, no `..`, no system folder, under SOURCE_ROOTS after resolving links."""
    why = userinfo_refusal(uri, field="source")
    if why:
        return why
    local = _local(uri)
    if local is None:
        return None
    return path_refusal(local, roots=settings.SOURCE_ROOTS, resolve=True)


def connector_path_refusal(path: str) -> str | None:
    """The folder-source rules for a path a connector reads (a SQLite file, a LanceDB folder, model
    weights), plus: never the portal's own keys or database. (The portal's own `dr-portal` folder
    asset on VAR_DIR is a folder source and reads its database through inventory/vault_io/live_sqlite.py.)"""
    return source_root_refusal(path) or portal_secret_refusal(path)


def path_shape_refusal(path: str) -> str | None:
    """What a path a connector reads or writes may never be, whatever the settings say: relative,
    with `..`, in /proc, /sys or /dev, or the portal's own keys or database."""
    if not path.startswith("/"):
        return f"{path} is not an absolute path."
    return path_refusal(path, roots=[Path("/")], resolve=False) or portal_secret_refusal(path)


def target_path_refusal(path: str | Path) -> str | None:
    """For a restore or drill target, right before it is written: absolute, no `..`, no system folder
    (links resolved), never the portal's own data folder, keys or database (folders inside VAR_DIR
    such as the drills stay allowed)."""
    text = str(path)
    if not text.startswith("/"):
        return f"{text} is not an absolute path."
    return (
        path_refusal(text, roots=[Path("/")], resolve=False)
        or path_refusal(text, roots=[Path("/")], resolve=True)
        or portal_overlap_refusal(text)
        or portal_secret_refusal(text)
    )


def drill_path_refusal(path: str | Path) -> str | None:
    """A drill restores only into a folder under VAR_DIR/drills (links resolved)."""
    drills = Path(settings.VAR_DIR) / "drills"
    why = path_refusal(str(path), roots=[drills], resolve=True)
    return f"A drill restores only under the drills folder: {why}" if why else None


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


def portal_secret_paths() -> list[Path]:
    """What no connector or source may read or write: the portal's key folder (and vault key file)
    and, with SQLite, its database file and sidecars. Links resolved."""
    own = [Path(os.path.realpath(Path(settings.VAR_DIR) / "keys"))]
    key_file = getattr(settings, "VAULT_KEY_FILE", None)
    if key_file:
        own.append(Path(os.path.realpath(key_file)))
    return own + portal_own_paths()[1:]


def portal_secret_refusal(path: str | Path) -> str | None:
    """Why ``path`` may not be read: it is (or holds, or lies in) the portal's keys or database."""
    real = Path(os.path.realpath(path))
    for own in portal_secret_paths():
        if real == own or own in real.parents or real in own.parents:
            return f"{path} is (or holds) the portal's own keys or database; no connector reads or writes it."
    return None


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


# --- credentials in addresses ---------------------------------------------------------


def has_userinfo(uri: str) -> bool:
    return bool(USERINFO.search(uri or ""))


def userinfo_refusal(uri: str, *, field: str) -> str | None:
    """Why an address may not be stored: it carries a user name or password (``user:pass@host``).
    The message never repeats the address, which holds the secret."""
    if not has_userinfo(uri):
        return None
    return (
        f"{field}: the address carries a user name or password (user:password@); it would be stored and "
        "shown in the clear. Leave it out of the address and give the secret as a reference "
        "(env:NAME or file:/path) in the connector's secret fields. The value given was not shown."
    )


def vault_userinfo_validate(config: dict[str, object], *, field: str = "config") -> None:
    """For a vault's settings: no ``key:secret@`` in an endpoint or a bucket name."""
    for key, value in config.items():
        if isinstance(value, str):
            why = userinfo_refusal(f"s3://{value}" if key == "bucket" else value, field=str(key))
            if why:
                raise ValidationError({field: why})
