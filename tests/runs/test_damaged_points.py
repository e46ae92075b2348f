"""A restore that finds a point damaged marks it corrupt (#11 item 19), whatever the point's format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dr_portal.audit.models import AuditEvent
from incidents.runs.models import StepState
from inventory import engine, vault_io
from inventory.models import Asset, PointStatus, RecoveryPoint
from inventory.readiness import asset_readiness
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db


def _packs_of(point: RecoveryPoint, path: str) -> list[Path]:
    """The pack files in the vault that hold the chunks of ``path`` in a chunk-store point."""
    vault = vault_io.open_vault(point.vault)
    ring = vault_io.keyring()
    manifest = engine.read_manifest_v2(vault=vault, point=point.manifest["point"], keyring=ring)
    entry = next(e for e in manifest.files(ring) if e.path == path)
    root = Path(point.vault.config["path"])
    return [root / ref.pack for ref in entry.chunks]


def _coverage(asset: Asset) -> str:
    check = next(c for c in asset_readiness(asset=asset).checks if c.name == "coverage")
    return check.level.key


def test_a_missing_object_marks_the_point_corrupt_names_the_file_and_the_next_run_uses_another_point(
    model: Asset, commander: Any
) -> None:
    older = RecoveryPoint.objects.get(asset=model)
    (Path(model.source_uri) / "model.json").write_text('{"weights": [1, 2], "bias": 0}')
    newer = backed_up(model)
    assert newer.manifest.get("version") == 2
    # Only model.json changed, so only its new pack is private to the newer point.
    private = set(_packs_of(newer, "model.json")) - set(_packs_of(older, "model.json"))
    assert private
    for pack in private:
        pack.unlink()
    target = Path(model.source_uri)
    (target / "model.json").write_text("what is serving now")
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name}])

    run = drive(start_run(plan=plan, mode="recovery", by=commander))

    step = run.steps.get()
    assert step.state == StepState.FAILED and step.error_code == "data_missing"
    # The file is named in the evidence (shown only to people who may restore), never in the words.
    assert step.evidence["file"] == "model.json" and "model.json" in step.evidence["file_detail"]
    assert "model.json" not in step.error and "missing from its vault" in step.error
    assert (target / "model.json").read_text() == "what is serving now", "the target keeps its content"
    newer.refresh_from_db()
    assert newer.status == PointStatus.CORRUPT and "model.json" not in newer.note
    event = AuditEvent.objects.get(action="point.corrupt")
    assert event.payload["point"] == str(newer.public_id) and event.payload["problems"][0]["path"] == "model.json"
    assert event.payload["found_by"] == "restore"

    again = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert again.status == "succeeded"
    assert again.steps.get().point_id == older.pk


def test_readiness_goes_bad_when_a_restore_finds_the_only_point_damaged(make_asset: Any, commander: Any) -> None:
    asset = make_asset("lonely-model")
    point = RecoveryPoint.objects.get(asset=asset)
    assert _coverage(asset) == "ok"
    for pack in _packs_of(point, "weights/shard.bin"):
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0x01
        pack.chmod(0o644)
        pack.write_bytes(bytes(data))
    run = drive(
        start_run(plan=make_plan([{"key": "r", "kind": "restore", "asset": asset.name}]), mode="drill", by=commander)
    )

    assert run.steps.get().error_code == "corrupt_object"
    point.refresh_from_db()
    assert point.status == PointStatus.CORRUPT
    assert _coverage(asset) == "breach"
    assert not RecoveryPoint.objects.good().filter(asset=asset).exists()


def test_a_verify_that_cannot_read_an_object_counts_it_among_the_files_checked(tmp_path: Path, settings: Any) -> None:
    settings.BACKUP_FORMAT = "files"
    ring = engine.KeyRing({"k1": b"k" * 32})
    source = tmp_path / "src"
    source.mkdir()
    (source / "only.bin").write_bytes(b"x" * 5000)
    vault = engine.FilesystemVault(tmp_path / "vault")
    manifest = engine.backup_tree(
        source=source, vault=vault, point_prefix="a/p", keyring=ring, key_id="k1", retain_until=None
    )
    vault.path_of(manifest.files[0].object_key).unlink()

    report = engine.verify_point(vault=vault, manifest=manifest, keyring=ring)

    assert report.checked == 1
    assert report.summary().startswith("1 of 1 files failed verification: only.bin: object")
