"""Helpers shared by connectors whose target is a directory tree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from inventory.connectors.errors import ConnectorRefused
from inventory.engine import LocalSource
from inventory.paths import connector_path_refusal, portal_overlap_refusal, target_path_refusal


def tree_facts(root: Path) -> dict[str, int]:
    """``{relative path: size}`` of every regular file (what LocalSource would back up)."""
    scan = LocalSource(root).scan()
    return {item.path: item.size for item in scan.files}


def is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def copy_tree(src: Path, dst: Path, *, exclude: tuple[str, ...] = ()) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for item in sorted(src.iterdir()):
        if item.name in exclude:
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name, symlinks=True)
        else:
            shutil.copy2(item, dst / item.name)


def refuse_portal_own(path: Path | str) -> None:
    """A connector never restores over, swaps out or removes the portal's own VAR_DIR or database."""
    why = portal_overlap_refusal(path)
    if why:
        raise ConnectorRefused(why)


def refuse_source_path(path: str, *, field: str) -> None:
    """Right before a connector reads a local file or folder: the folder-source rules (inventory/paths.py)."""
    why = connector_path_refusal(path)
    if why:
        raise ConnectorRefused(f"{field}: {why} A connector reads only under SOURCE_ROOTS.")


def refuse_target_path(path: Path | str) -> None:
    """Right before a connector writes, checks or removes a local target: no '..', no system folder,
    never the portal's own data, keys or database (links resolved)."""
    why = target_path_refusal(path)
    if why:
        raise ConnectorRefused(why)


def swap_in(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is; the old tree is removed only after the rename succeeded."""
    refuse_portal_own(target)
    old = target.with_name(target.name + ".drp-old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.rename(target, old)
    os.rename(new, target)
    if old.exists():
        shutil.rmtree(old)


def remove(path: Path) -> None:
    refuse_portal_own(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def sizes_match(expected: dict[str, Any], found: dict[str, int]) -> tuple[list[str], list[str], list[str]]:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = sorted(p for p in set(expected) & set(found) if int(expected[p]) != found[p])
    return missing, extra, changed
