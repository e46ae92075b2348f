"""The inventory API through HTTP: access, commands, errors, schema."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dr_portal.audit.models import AuditEvent
from inventory.models import Backup, BackupStatus, RecoveryPolicy
from inventory.services import dependency_add
from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inventory"


def test_assets_list_and_retrieve_for_any_role(client_for, viewer) -> None:
    asset = AssetFactory.create(name="fraud-model", kind="model")
    AssetFactory.create(name="claims", kind="dataset")
    client = client_for(viewer)
    body = client.get(f"{API}/assets/", {"kind": "model"}).json()
    assert [a["name"] for a in body["results"]] == ["fraud-model"]
    one = client.get(f"{API}/assets/{asset.public_id}/").json()
    assert one["id"] == str(asset.public_id) and one["policy"] == asset.policy.name  # type: ignore[union-attr]


def test_anonymous_gets_401_in_the_error_shape(client) -> None:
    response = client.get(f"{API}/assets/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_admin_creates_asset_and_bad_fields_are_named(client_for, admin) -> None:
    policy = RecoveryPolicyFactory.create(name="gold")
    client = client_for(admin, mfa=True)
    bad = client.post(
        f"{API}/assets/",
        {"name": "x", "kind": "model", "owner_team": "t", "tier": 9, "region": "eu", "source_uri": "rel"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert "tier" in fields and "source_uri" in fields
    ok = client.post(
        f"{API}/assets/",
        {
            "name": "x",
            "kind": "model",
            "owner_team": "t",
            "tier": 1,
            "region": "eu",
            "source_uri": "/srv/x",
            "policy": "gold",
        },
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["policy"] == policy.name
    changed = client.patch(f"{API}/assets/{ok.json()['id']}/", {"tier": 0}, content_type="application/json")
    assert changed.json()["tier"] == 0
    assert AuditEvent.objects.filter(action__in=["asset.created", "asset.updated"]).count() == 2


def test_commander_cannot_write_assets_or_policies(client_for, commander) -> None:
    client = client_for(commander)
    assert client.post(f"{API}/assets/", {}, content_type="application/json").status_code == 404
    assert client.post(f"{API}/policies/", {}, content_type="application/json").status_code == 404


def test_policy_rto_error_names_the_field(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    data = {
        "name": "gold",
        "strategy": "hot_standby",
        "rto_minutes": 60,
        "rpo_minutes": 5,
        "mtd_minutes": 30,
        "backup_cadence_minutes": 5,
        "retention_days": 30,
        "drill_cadence_days": 30,
    }
    response = client.post(f"{API}/policies/", data, content_type="application/json")
    assert response.status_code == 400
    assert "must be shorter than the MTD" in response.json()["error"]["fields"]["rto_minutes"][0]
    assert (
        client.post(f"{API}/policies/", {**data, "rto_minutes": 15}, content_type="application/json").status_code == 201
    )
    assert RecoveryPolicy.objects.filter(name="gold").exists()


def test_oncall_starts_a_backup_and_reads_its_progress(client_for, oncall, viewer) -> None:
    asset = AssetFactory.create()
    response = client_for(oncall).post(f"{API}/assets/{asset.public_id}/backup/")
    assert response.status_code == 202
    backup_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    Backup.objects.filter(public_id=backup_id).update(status=BackupStatus.RUNNING, bytes_done=50, bytes_total=200)
    progress = client_for(viewer).get(f"{API}/backups/{backup_id}/").json()
    assert (progress["bytes_done"], progress["bytes_total"], progress["percent"]) == (50, 200, 25)
    assert client_for(viewer).post(f"{API}/assets/{asset.public_id}/backup/").status_code == 404


def test_dependencies_add_refuses_cycles_and_remove(client_for, admin) -> None:
    a, b = AssetFactory.create(name="a"), AssetFactory.create(name="b")
    client = client_for(admin, mfa=True)
    made = client.post(f"{API}/dependencies/", {"upstream": "a", "downstream": "b"}, content_type="application/json")
    assert made.status_code == 201
    cycle = client.post(f"{API}/dependencies/", {"upstream": "b", "downstream": "a"}, content_type="application/json")
    assert cycle.json()["error"]["fields"]["upstream"] == ["This would make a cycle: b → a → b."]
    assert client.delete(f"{API}/dependencies/{made.json()['id']}/").status_code == 204
    assert client.get(f"{API}/dependencies/").json()["count"] == 0
    del a, b


def test_readiness_and_blast_radius(client_for, compliance) -> None:
    up, down = AssetFactory.create(name="features"), AssetFactory.create(name="model")
    dependency_add(upstream=up, downstream=down, by=None)
    RecoveryPointFactory.create(asset=up)
    readiness_sweep()  # the beat's sweep assesses assets made outside the services
    client = client_for(compliance)
    summary = client.get(f"{API}/readiness/summary/").json()
    assert sum(summary["counts"].values()) == 2
    listed = client.get(f"{API}/readiness/").json()
    assert listed["count"] == 2
    model = next(a for a in listed["results"] if a["asset"] == "model")
    assert model["status"] == "breach" and any(c["reason"] == "No good backup exists." for c in model["checks"])
    one = client.get(f"{API}/assets/{up.public_id}/readiness/").json()
    assert one["asset"] == "features" and one["backup_age_seconds"] is not None
    radius = client.post(
        f"{API}/blast-radius/", {"assets": [str(up.public_id)]}, content_type="application/json"
    ).json()
    assert [a["name"] for a in radius["impacted"]] == ["model"]
    assert [[a["name"] for a in g] for g in radius["restore_groups"]] == [["features"], ["model"]]
    missing = client.post(
        f"{API}/blast-radius/", {"assets": ["00000000-0000-0000-0000-000000000000"]}, content_type="application/json"
    )
    assert missing.status_code == 404


def test_points_and_vaults_lists(client_for, viewer) -> None:
    point = RecoveryPointFactory.create()
    BackupFactory.create(asset=point.asset)
    client = client_for(viewer)
    points = client.get(f"{API}/recovery-points/", {"asset": point.asset.name}).json()
    assert points["results"][0]["id"] == str(point.public_id)
    assert "manifest" in client.get(f"{API}/recovery-points/{point.public_id}/").json()
    assert client.get(f"{API}/vaults/").json()["count"] == 1
    assert len(client.get(f"{API}/backups/").json()["results"]) == 1


def test_import_through_the_api_is_all_or_nothing(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    csv_text = (
        "name,kind,owner_team,tier,region,source_uri\n"
        "good,model,ml,1,eu-west-1,/srv/good\n"
        "bad,model,ml,1,eu-west-1,nope\n"
    )
    response = client.post(f"{API}/import/", {"file": SimpleUploadedFile("a.csv", csv_text.encode())})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0].startswith("line 3, field source_uri:")
    assert client.get(f"{API}/assets/").json()["count"] == 0
    fixed = csv_text.replace("nope", "/srv/bad")
    assert client.post(f"{API}/import/", {"file": SimpleUploadedFile("a.csv", fixed.encode())}).status_code == 201
    assert "good" in client.get(f"{API}/export/").content.decode()


def test_the_schema_generates(client_for, viewer) -> None:
    response = client_for(viewer).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/inventory/assets/{id}/backup/" in response.content
