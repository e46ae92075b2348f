"""Runs restore, verify and clean up assets through their connectors: real SQLite databases and
LanceDB indexes, a consistency group restored as one point, a target that holds data, a model mismatch."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from incidents.runs.certificate.models import RunCertificate
from incidents.runs.models import StepState
from incidents.runs.services import RunRefused
from inventory import demo_connectors
from inventory.models import Asset, Vault
from tests.factories import AssetFactory, RecoveryPolicyFactory
from tests.runs.conftest import backed_up, drive, make_plan, start_run

pytestmark = pytest.mark.django_db


def _rows(path: str | Path, table: str = "flag") -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed test table


@pytest.fixture
def connector_asset(tmp_path: Path, keys: Path, fs_vault: Vault) -> Callable[..., Asset]:
    def make(name: str, kind: str, config: dict[str, Any], *, backup: bool = True, **fields: Any) -> Asset:
        policy = RecoveryPolicyFactory.create(name=f"policy-{name}", rto_minutes=30, rpo_minutes=60)
        asset = AssetFactory.create(
            name=name,
            source_uri=str(tmp_path / "unused" / name),
            connector=kind,
            connector_config=config,
            vault=fs_vault,
            policy=policy,
            **fields,
        )
        if backup:
            backed_up(asset)
        return asset

    return make


@pytest.fixture
def flags(tmp_path: Path, connector_asset: Callable[..., Asset]) -> Asset:
    config = demo_connectors.flags_database(tmp_path / "systems" / "flags.sqlite3")
    return connector_asset("flags-db", "sqlite", config)


def _certificate(run: Any) -> dict[str, Any]:
    return dict(json.loads(RunCertificate.objects.get(run=run).document)["certificate"])


def _restore_and_verify(asset: Asset, **restore: Any) -> list[dict[str, Any]]:
    return [
        {"key": "restore", "kind": "restore", "asset": asset.name, **restore},
        {"key": "verify", "kind": "verify", "asset": asset.name, "after": ["restore"]},
    ]


def test_a_drill_restores_a_database_through_its_connector_into_a_scratch_copy(flags, commander, settings) -> None:
    source = flags.connector_config["path"]
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    restore = run.steps.get(key="restore")
    drill_copy = restore.target_config["path"]
    assert drill_copy.startswith(str(settings.VAR_DIR / "drills" / str(run.public_id)))
    assert restore.target_path == f"SQLite {drill_copy}"
    connector = restore.evidence["connector"]
    assert connector["ok"] is True and connector["kind"] == "sqlite"
    assert {"name": "flag rows", "expected": 1500, "found": 1500, "ok": True} in connector["checks"]
    assert run.steps.get(key="verify").evidence["connector"]["ok"] is True
    # Clean-up removed the scratch database, the drill folder and the staging files; the source is untouched.
    assert not Path(drill_copy).exists()
    # ...because its restore recorded creating it, and the clean-up marked it removed.
    restore.refresh_from_db()
    assert {(i["kind"], i["name"], i["state"]) for i in restore.ledger} >= {("file", drill_copy, "removed")}
    assert not (settings.VAR_DIR / "drills" / str(run.public_id)).exists()
    assert not (settings.VAR_DIR / "restore-staging" / str(run.public_id)).exists()
    assert _rows(source) == 1500
    checks = {c["check"]: c for c in _certificate(run)["assets"][0]["checks"]}
    assert checks["connector"]["status"] == "passed"


def test_a_recovery_over_live_data_is_refused_without_replace_and_restores_with_it(flags, commander) -> None:
    source = flags.connector_config["path"]
    with sqlite3.connect(source) as db:
        db.execute("DELETE FROM flag WHERE rowid % 2 = 0")  # the damage the recovery undoes
    damaged = _rows(source)

    run = drive(start_run(plan=make_plan(_restore_and_verify(flags), name="no replace"), mode="recovery", by=commander))
    assert run.status == "failed"
    restore = run.steps.get(key="restore")
    assert restore.state == StepState.FAILED and restore.error_code == "connector_target_not_empty"
    assert "already holds tables; restore there only with replace" in restore.error
    assert _rows(source) == damaged, "a refused restore leaves the target as it was"

    run = drive(start_run(plan=make_plan(_restore_and_verify(flags, replace=True)), mode="recovery", by=commander))
    assert run.status == "succeeded", run.error
    assert _rows(source) == 1500
    assert run.steps.get(key="restore").evidence["replace"] is True


def test_a_step_on_a_consistency_group_restores_every_member_from_one_point(
    tmp_path: Path, flags: Asset, connector_asset: Callable[..., Asset], commander, settings
) -> None:
    index = connector_asset(
        "kb-index", "vector", demo_connectors.articles_index(tmp_path / "systems" / "kb"), backup=False
    )
    group = connector_asset("kb-group", "group", {"members": ["kb-index", "flags-db"]})
    point = group.points.get()
    members = point.manifest["extra"]["capture"]["details"]["members"]
    assert set(members) == {"kb-index", "flags-db"}

    run = drive(start_run(plan=make_plan(_restore_and_verify(group)), mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    assert set(run.assets.values_list("name", flat=True)) == {"kb-group", "kb-index", "flags-db"}
    restore = run.steps.get(key="restore")
    assert restore.point == point
    targets = restore.target_config
    drill = str(settings.VAR_DIR / "drills" / str(run.public_id) / "kb-group")
    assert targets["flags-db"]["path"].startswith(drill) and targets["kb-index"]["uri"].startswith(drill)
    evidence = restore.evidence["connector"]
    assert evidence["members"]["kb-index"]["ok"] and evidence["members"]["flags-db"]["ok"]
    assert evidence["consistency"]["group"] == "kb-group"
    assert evidence["facts"]["kb-index"]["top_k_overlap"]["articles"]["min"] == 1.0
    assert not Path(targets["flags-db"]["path"]).exists() and not Path(targets["kb-index"]["uri"]).exists()
    assert not (settings.VAR_DIR / "drills" / str(run.public_id)).exists()
    assert index.connector_config["uri"] != targets["kb-index"]["uri"]

    body = _certificate(run)
    rows = {a["asset"]: {c["check"]: c for c in a["checks"]} for a in body["assets"]}
    assert rows["kb-group"]["connector"]["status"] == "passed"
    assert rows["kb-group"]["embedding_overlap"]["tables"]["kb-index/articles"]["min"] == 1.0
    assert rows["kb-index"]["connector"]["status"] == "passed"
    assert rows["kb-index"]["embedding_overlap"]["status"] == "passed"
    assert rows["flags-db"]["recovery_point"]["point"] == str(point.public_id)
    assert body["lineage"]["status"] == "passed" and "one consistency-group point" in body["lineage"]["detail"]
    failed = [(a["asset"], c["check"]) for a in body["assets"] for c in a["checks"] if c["status"] == "failed"]
    assert body["verdict"] == "proven", failed


def test_data_sets_restored_from_points_far_apart_fail_lineage(
    tmp_path: Path, flags: Asset, connector_asset: Callable[..., Asset], commander
) -> None:
    index = connector_asset("kb-index", "vector", demo_connectors.articles_index(tmp_path / "systems" / "kb"))
    old = index.points.get()
    six_hours_before = flags.points.get().data_as_of - timedelta(hours=6)
    type(old).objects.filter(pk=old.pk).update(data_as_of=six_hours_before)
    plan = make_plan([*_restore_and_verify(flags), {"key": "restore-index", "kind": "restore", "asset": "kb-index"}])
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    body = _certificate(run)
    assert body["lineage"]["status"] == "failed"
    assert "2 data sets from 2 points, 21600 s apart (beyond 300 s)" in body["lineage"]["detail"]
    assert body["verdict"] == "not proven"


def test_a_drill_target_serving_another_embedding_model_is_refused_and_left_clean(
    tmp_path: Path, connector_asset: Callable[..., Asset], commander, settings
) -> None:
    config = demo_connectors.articles_index(tmp_path / "systems" / "kb")
    index = connector_asset("kb-index", "vector", config)
    plan = make_plan(_restore_and_verify(index, target_config={"model_revision": "2027-01"}))
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    assert run.status == "failed"
    restore = run.steps.get(key="restore")
    assert restore.error_code == "connector_embedding_mismatch"
    assert "revision: index built with '2026-11', target serves '2027-01'" in restore.error
    assert not (settings.VAR_DIR / "drills" / str(run.public_id)).exists()
    assert not (settings.VAR_DIR / "restore-staging" / str(run.public_id)).exists()


def test_a_drill_of_a_registry_with_no_drill_server_is_refused_before_it_starts(
    connector_asset: Callable[..., Asset], commander
) -> None:
    registry = connector_asset(
        "fraud-registry", "mlflow", {"tracking_uri": "http://127.0.0.1:9", "models": ["fraud"]}, backup=False
    )
    plan = make_plan(_restore_and_verify(registry))
    with pytest.raises(RunRefused, match="cannot make up a drill target; set its drill field"):
        start_run(plan=plan, mode="drill", by=commander)


def test_a_point_taken_before_the_asset_had_a_connector_is_refused(tmp_path: Path, flags: Asset, commander) -> None:
    point = flags.points.get()
    manifest = dict(point.manifest)
    manifest.pop("extra")
    type(point).objects.filter(pk=point.pk).update(manifest=manifest)
    with pytest.raises(RunRefused, match="holds files only, not a sqlite capture"):
        start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander)


def test_a_group_asset_page_names_its_members_and_hides_member_locations_from_a_viewer(
    tmp_path: Path, flags: Asset, connector_asset: Callable[..., Asset], client, viewer, commander
) -> None:
    connector_asset("kb-index", "vector", demo_connectors.articles_index(tmp_path / "systems" / "kb"), backup=False)
    group = connector_asset("kb-group", "group", {"members": ["kb-index", "flags-db"]}, backup=False)
    url = f"/inventory/assets/{group.public_id}/"
    for user in (viewer, commander):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200
        assert "Consistency group of 2: kb-index, flags-db" in page.content.decode()
    client.force_login(viewer)
    member = client.get(f"/inventory/assets/{flags.public_id}/").content.decode()
    assert "SQLite" in member and flags.connector_config["path"] not in member
    client.force_login(commander)
    assert flags.connector_config["path"] in client.get(f"/inventory/assets/{flags.public_id}/").content.decode()
