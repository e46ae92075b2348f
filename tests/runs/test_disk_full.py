"""A restore step into a full disk fails once, says bytes needed and free, and changes nothing (#11 item 21)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from incidents.runs.models import StepState
from inventory import vault_io
from inventory.engine.fmt import human_size
from inventory.engine.target import iter_part_files
from inventory.models import Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.inventory.engine.conftest import tmpfs
from tests.runs.conftest import backed_up, drive, make_plan, start_run, write_model

pytestmark = pytest.mark.django_db


def test_a_restore_into_a_full_disk_fails_at_once_without_retrying_or_writing(
    tmp_path: Path, keys: Path, fs_vault: Vault, commander: Any
) -> None:
    with tmpfs(tmp_path / "production", "4m") as disk:
        source = disk / "model"
        write_model(source, weights=[0.25, -1.5], extra_mib=1)
        asset = AssetFactory.create(
            name="disk-model",
            source_uri=str(source),
            vault=fs_vault,
            policy=RecoveryPolicyFactory.create(name="p-disk", rto_minutes=30, rpo_minutes=60),
        )
        point = backed_up(asset)
        # Production lost the weights; the run starts (its dry run saw room), then the disk fills up.
        (source / "weights" / "shard.bin").unlink()
        started = start_run(
            plan=make_plan([{"key": "r", "kind": "restore", "asset": asset.name}]), mode="recovery", by=commander
        )
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "logs").write_bytes(b"\0" * (free - 64 * 1024))
        before = {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()}

        run = drive(started)

        step = run.steps.get()
        assert step.state == StepState.FAILED and step.error_code == "target_full"
        assert step.attempt == 1, "a full disk is not retried"
        assert step.evidence["bytes_needed"] == 1024 * 1024 and 0 < step.evidence["bytes_free"] < 1024 * 1024
        assert "nothing was written" in step.error
        assert {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
        assert not list(iter_part_files(source))
        point.refresh_from_db()
        assert point.is_good, "a full target says nothing about the point"


def test_the_space_check_a_dry_run_can_use_reads_the_nearest_existing_folder(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "1m") as disk:
        needed, free = vault_io.restore_space(size_bytes=5_000_000, target_dir=disk / "not" / "yet" / "there")
        assert needed == 5_000_000 and free is not None and free <= 1024 * 1024
        assert vault_io.restore_space_problem(size_bytes=5_000_000, target_dir=disk / "x", what="fraud-model") == (
            f"Restoring fraud-model needs 4.8 MiB (5000000 bytes) but {disk / 'x'} has only "
            f"{human_size(free)} ({free} bytes) free."
        )
        assert vault_io.restore_space_problem(size_bytes=10, target_dir=disk, what="x") is None


def test_a_dry_run_names_a_restore_that_cannot_fit_before_anything_moves(
    tmp_path: Path, keys: Path, fs_vault: Vault
) -> None:
    from incidents.runs.resolve import resolve

    with tmpfs(tmp_path / "production", "4m") as disk:
        source = disk / "model"
        write_model(source, weights=[0.25, -1.5], extra_mib=1)
        asset = AssetFactory.create(
            name="tight-model",
            source_uri=str(source),
            vault=fs_vault,
            policy=RecoveryPolicyFactory.create(name="p-tight", rto_minutes=30, rpo_minutes=60),
        )
        backed_up(asset)
        plan = make_plan([{"key": "r", "kind": "restore", "asset": asset.name}])
        assert not [p for p in resolve(plan=plan, mode="recovery").problems if "free" in p]

        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "logs").write_bytes(b"\0" * (free - 64 * 1024))
        problems = resolve(plan=plan, mode="recovery").problems
        assert any(p.startswith("Restoring tight-model needs 1.0 MiB") and "free" in p for p in problems), problems
