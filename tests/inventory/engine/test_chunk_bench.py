"""The side-by-side bench of docs/benchmarks.md runs: ours, restic and borg on one small tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import chunk_bench


def test_the_bench_backs_up_changes_and_restores_the_same_tree_with_each_tool(tmp_path: Path) -> None:
    if not (shutil.which("restic") and shutil.which("borg")):
        pytest.skip("restic and borg are Debian packages the bench compares with; not installed here")
    out = tmp_path / "result.json"
    assert chunk_bench.main(["--mib", "4", "--workdir", str(tmp_path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {row["tool"]: row for row in result["tools"]}
    assert set(rows) == {"DR Portal chunk store", "restic", "borg"}
    for row in rows.values():
        assert row["restored_ok"] and row["bytes_added"] > 0 and row["changed_bytes"] > 0
    assert set(result["ours_vs"]) == {"restic", "borg"}
    assert set(result["ours_vs"]["restic"]) == {"first_backup_s", "second_backup_s", "restore_s", "bytes_added"}
