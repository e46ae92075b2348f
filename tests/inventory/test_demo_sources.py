"""The demo estate's filler files look like their formats, so the first backups are not screened as damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.engine.chunks.screen import signature_problem
from inventory.management.commands.inventory_demo import _write_file


@pytest.mark.parametrize("name", ["adapter_model.safetensors", "claims.parquet", "notes.json"])
def test_demo_filler_keeps_the_signature_of_its_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _write_file(path, 200_000, f"seed/{name}")
    data = path.read_bytes()
    assert len(data) == 200_000
    assert signature_problem(name, data[:65536], len(data)) is None
