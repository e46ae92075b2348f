"""Bad input: a corrupt point, no good point, a target region the policy forbids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from incidents.runs.forms import RunForm
from incidents.runs.models import RecoveryRun, StepState
from incidents.runs.services import RunRefused
from inventory.engine.target import iter_part_files
from inventory.models import RecoveryPoint
from tests.db_state import nothing_changes
from tests.factories import IncidentFactory
from tests.runs.conftest import drive, make_plan, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _format_1_points(settings):
    """These tests look inside format-1 manifests and objects, which old points keep."""
    settings.BACKUP_FORMAT = "files"


def flip_one_byte(point: RecoveryPoint, path: str) -> tuple[Path, str]:
    entry = next(f for f in point.manifest["files"] if f["path"] == path)
    stored = Path(point.vault.config["path"]) / entry["object"]
    os.chmod(stored, 0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    return stored, entry["stored_sha256"]


def test_corrupt_point_fails_the_restore_names_the_file_and_hashes_and_leaves_the_target(model, commander) -> None:
    point = RecoveryPoint.objects.get(asset=model)
    _stored, recorded = flip_one_byte(point, "weights/shard.bin")
    target = Path(model.source_uri)
    # What is serving now differs from the point, so the restore must fetch these files from the vault.
    (target / "model.json").write_text('{"weights": [9, 9], "bias": 0}')
    (target / "weights" / "shard.bin").write_bytes(b"damaged in production")
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name}])
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    assert run.status == "failed"
    step = run.steps.get()
    assert step.state == StepState.FAILED and step.error_code == "corrupt_object"
    # The file and its digests are in the evidence (shown to restorers only), never in the free text.
    assert "weights/shard.bin" not in step.error and recorded not in step.error and "damaged" in step.error
    assert step.evidence["file"] == "weights/shard.bin"
    assert step.evidence["expected_sha256"] == recorded and len(step.evidence["actual_sha256"]) == 64
    assert step.evidence["actual_sha256"] != recorded
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before, "the target keeps its previous content"
    assert not list(iter_part_files(target))
    assert "Critical step" in run.error


def test_verify_step_names_a_file_that_differs_with_both_hashes(model, commander) -> None:
    plan = make_plan([{"key": "verify", "kind": "verify", "asset": model.name}])
    (Path(model.source_uri) / "golden.json").write_text("{}")
    run = drive(start_run(plan=plan, mode="recovery", by=commander))
    step = run.steps.get()
    assert step.state == StepState.FAILED
    problem = step.evidence["problems"][0]
    assert problem["file"] == "golden.json" and problem["expected_sha256"] and problem["actual_sha256"]
    assert "golden.json" not in step.error and "failed verification" in step.error


def test_run_on_asset_without_a_good_point_is_refused_with_the_reason(make_asset, commander) -> None:
    bare = make_asset("never-backed-up", backup=False)
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": bare.name}])
    with pytest.raises(RunRefused, match="never-backed-up has no good \\(ok\\) recovery point"):
        start_run(plan=plan, mode="drill", by=commander)
    assert not RecoveryRun.objects.exists()


def test_restore_outside_the_allowed_regions_is_refused_before_a_byte_moves(model, commander) -> None:
    model.policy.allowed_regions = ["eu-west-1"]
    model.policy.save()
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name, "target": "alternate"}])
    with pytest.raises(RunRefused, match="into eu-central-1 is refused: its policy allows only eu-west-1"):
        start_run(plan=plan, mode="recovery", by=commander)


def test_worker_refuses_the_region_too_if_the_policy_changed_after_the_run_was_created(
    model, commander, settings
) -> None:
    plan = make_plan([{"key": "restore", "kind": "restore", "asset": model.name, "target": "alternate"}])
    run = start_run(plan=plan, mode="recovery", by=commander)
    model.policy.allowed_regions = ["eu-west-1"]
    model.policy.save()
    run = drive(run)
    step = run.steps.get()
    assert step.error_code == "region_refused" and "before any byte moved" in step.error
    assert step.bytes_done == 0
    assert not (settings.VAR_DIR / "regions" / "eu-central-1" / model.name).exists()


def test_an_outage_start_in_year_one_or_the_future_is_refused_on_the_page(simple_plan, commander, client_for) -> None:
    """Typed dates out of range: a clear reason on the form, no run (found with year 0001 on /runs/new/)."""
    real = IncidentFactory.create(kind="real")
    client = client_for(commander)
    body = {"plan": simple_plan.public_id, "mode": "recovery", "incident": real.public_id}
    with nothing_changes(real):
        for typed, reason in [
            ("0001-01-01T00:00", "outage start 0001-01-01 00:00+00:00 is more than a year ago"),
            ("2001-06-01T12:00", "more than a year ago"),
            ("9999-12-31T23:59", "cannot start in the future"),
        ]:
            page = client.post("/runs/new/", {**body, "outage_started_at": typed})
            assert page.status_code in (200, 400) and reason in page.content.decode(), typed
    assert not RecoveryRun.objects.exists()
    assert "Default: the incident's estimated start" in str(RunForm().fields["outage_started_at"].help_text)
