"""The engine stays in small modules with one way per concern."""

from __future__ import annotations

from pathlib import Path

import inventory.engine
import inventory.vault_io

ROOTS = [Path(inventory.engine.__file__).parent, Path(inventory.vault_io.__file__).parent]


def test_engine_and_vault_io_modules_stay_under_400_lines() -> None:
    long = {
        str(path.relative_to(root.parent)): count
        for root in ROOTS
        for path in root.rglob("*.py")
        if (count := len(path.read_text().splitlines())) >= 400
    }
    assert long == {}


def test_one_restore_for_both_formats() -> None:
    # Format 1 is only read (and written for old-point tests); both formats restore through one function.
    names = set(dir(inventory.engine))
    assert "restore_tree" in names and "restore_chunked" not in names and "verify_chunked" not in names
