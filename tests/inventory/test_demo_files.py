"""The demo estate's files of a known format look like that format to the ransomware screening.

Before this, `make run` wrote random bytes into every `*.parquet` and `*.safetensors` file: the first
backups were marked suspicious and a fresh demo opened five SEV1 "ransomware" incidents, and no plan
touching those assets could start (no good point).
"""

from __future__ import annotations

from pathlib import Path

from inventory.demo_estate import ESTATE
from inventory.engine.chunks.screen import signature_problem
from inventory.management.commands.inventory_demo import _write_file

KNOWN = (".parquet", ".safetensors")


def _problem(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(1 << 20)
    return signature_problem(path.name, head, path.stat().st_size)


def test_every_demo_file_of_a_known_format_passes_the_signature_screen(tmp_path: Path) -> None:
    checked = 0
    for item in ESTATE:
        for rel, size in item.files.items():
            if not rel.lower().endswith(KNOWN):
                continue
            path = tmp_path / item.name / rel
            _write_file(path, size, f"{item.name}/{rel}")
            assert path.stat().st_size == size
            assert _problem(path) is None, f"{item.name}/{rel}: {_problem(path)}"
            checked += 1
    assert checked >= 5  # the estate has parquet datasets and a safetensors adapter
    tail = (tmp_path / "credit-training-dataset" / "train.parquet").read_bytes()[-4:]
    assert tail == b"PAR1"


def test_a_demo_file_left_by_an_older_run_without_its_signature_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "segments.parquet"
    path.write_bytes(b"\x00" * 4096)  # the right size, the wrong head: what older demos wrote
    assert _problem(path) is not None
    _write_file(path, 4096, "seed")
    assert _problem(path) is None
    before = path.read_bytes()
    _write_file(path, 4096, "another seed")  # a good file is left alone
    assert path.read_bytes() == before
