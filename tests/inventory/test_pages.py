"""Inventory pages through HTTP, per role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dr_portal.audit.models import AuditEvent
from inventory.models import Backup, BackupStatus, RecoveryPolicy
from inventory.services.readiness import readiness_sweep
from tests.factories import AssetFactory, BackupFactory, RecoveryPointFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db


def make_estate(n: int) -> None:
    for i in range(n):
        asset = AssetFactory.create(
            tier=i % 4, owner_team=f"team-{i % 3}", kind=["model", "dataset", "endpoint"][i % 3]
        )
        if i % 2:
            RecoveryPointFactory.create(asset=asset, data_as_of=timezone.now() - timedelta(minutes=10))


def test_list_shows_assets_with_status_and_filters(client_for, viewer) -> None:
    AssetFactory.create(name="fraud-model", kind="model", tier=0, owner_team="risk")
    AssetFactory.create(name="claims-data", kind="dataset", tier=2, owner_team="claims", policy=None)
    readiness_sweep()
    client = client_for(viewer)
    page = client.get("/inventory/").content.decode()
    assert "fraud-model" in page and "claims-data" in page
    only = client.get("/inventory/", {"kind": "dataset"}).content.decode()
    assert "claims-data" in only and "fraud-model" not in only
    assert "No recovery policy" in only
    by_text = client.get("/inventory/", {"q": "fraud"}).content.decode()
    assert "fraud-model" in by_text and "claims-data" not in by_text
    breach = client.get("/inventory/", {"status": "breach", "team": "claims"}).content.decode()
    assert "claims-data" in breach and "fraud-model" not in breach


def test_list_htmx_request_renders_only_the_results(client_for, viewer) -> None:
    AssetFactory.create(name="fraud-model")
    response = client_for(viewer).get("/inventory/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "fraud-model" in body


def test_list_sorts_and_paginates(client_for, viewer) -> None:
    for i in range(30):
        # Names with letters outside hex, so no random UUID in the page can contain them.
        AssetFactory.create(name=f"sortcheck-{i:02d}")
    client = client_for(viewer)
    first = client.get("/inventory/", {"sort": "-name"}).content.decode()
    assert first.index("sortcheck-29") < first.index("sortcheck-28")
    assert "page 1 of 2" in first
    second = client.get("/inventory/", {"sort": "-name", "page": 2}).content.decode()
    assert "sortcheck-00" in second and "sortcheck-29" not in second


def test_list_query_count_does_not_grow_with_assets(client_for, viewer, django_assert_max_num_queries) -> None:
    client = client_for(viewer)
    make_estate(4)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get("/inventory/").status_code == 200
    make_estate(20)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/inventory/").status_code == 200
    assert len(large) == len(small)


def test_detail_shows_readiness_points_and_graph(client_for, viewer) -> None:
    upstream = AssetFactory.create(name="features")
    asset = AssetFactory.create(name="fraud-model")
    from inventory.services import dependency_add

    dependency_add(upstream=upstream, downstream=asset, by=None)
    RecoveryPointFactory.create(asset=asset, key_id="demo-2026")
    page = client_for(viewer).get(f"/inventory/assets/{asset.public_id}/").content.decode()
    assert "Readiness" in page and "demo-2026" in page
    assert "<svg" in page and "features" in page
    assert "Back up now" not in page  # a viewer may not start backups


def test_detail_names_the_connector_that_captures_the_asset(client_for, viewer, oncall) -> None:
    config = {"tracking_uri": "http://127.0.0.1:5999", "models": ["fraud-detection"]}
    registry = AssetFactory.create(name="fraud-registry", connector="mlflow", connector_config=config)
    page = client_for(oncall).get(f"/inventory/assets/{registry.public_id}/").content.decode()
    assert "Captured by" in page and "MLflow model registry: MLflow http://127.0.0.1:5999 (fraud-detection)" in page
    # Where the registry lies only for people who may restore (tests/inventory/test_source_visibility.py).
    page = client_for(viewer).get(f"/inventory/assets/{registry.public_id}/").content.decode()
    assert "<dt>Captured by</dt><dd>MLflow model registry</dd>" in page and "127.0.0.1:5999" not in page
    files = AssetFactory.create(name="plain-files")
    assert "Captured by" not in client_for(viewer).get(f"/inventory/assets/{files.public_id}/").content.decode()


def test_unknown_or_malformed_asset_id_is_404(client_for, viewer) -> None:
    client = client_for(viewer)
    assert client.get("/inventory/assets/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/inventory/assets/not-a-uuid/").status_code == 404


def test_commander_starts_a_backup_and_sees_the_live_panel(
    client_for, commander, django_capture_on_commit_callbacks
) -> None:
    asset = AssetFactory.create(name="fraud-model")
    client = client_for(commander)
    assert "Back up now" in client.get(f"/inventory/assets/{asset.public_id}/").content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/inventory/assets/{asset.public_id}/backup/", HTTP_HX_REQUEST="true")
    assert len(callbacks) == 2  # the task is sent, and readiness reassessed, only after the commit
    body = response.content.decode()
    assert 'hx-trigger="every 2s"' in body and "waiting for a worker" in body
    backup = Backup.objects.get(asset=asset)
    assert backup.status == BackupStatus.QUEUED and backup.requested_by == commander
    assert AuditEvent.objects.filter(action="backup.requested").count() == 1
    # A second click joins the running backup instead of queueing another.
    client.post(f"/inventory/assets/{asset.public_id}/backup/")
    assert Backup.objects.filter(asset=asset).count() == 1


def test_finished_backup_panel_stops_polling_and_shows_the_failure(client_for, viewer) -> None:
    asset = AssetFactory.create(name="fraud-model")
    BackupFactory.create(asset=asset, status=BackupStatus.FAILED, error="Vault demo is full (0 bytes free).")
    body = client_for(viewer).get(f"/inventory/assets/{asset.public_id}/backup/", HTTP_HX_REQUEST="true")
    text = body.content.decode()
    assert "every 2s" not in text and "Vault demo is full" in text


@pytest.mark.parametrize("persona", ["viewer", "compliance"])
def test_roles_without_run_backups_cannot_start_one(client_for, persona, request) -> None:
    asset = AssetFactory.create()
    response = client_for(request.getfixturevalue(persona)).post(f"/inventory/assets/{asset.public_id}/backup/")
    assert response.status_code == 403
    assert not Backup.objects.exists()


def test_policy_editor_shows_rto_error_beside_the_field(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    form = {
        "name": "gold",
        "strategy": "hot_standby",
        "rto_minutes": 90,
        "rpo_minutes": 5,
        "mtd_minutes": 60,
        "backup_cadence_minutes": 5,
        "retention_days": 30,
        "worm_days": 0,
        "allowed_regions": "eu-west-1, eu-central-1",
        "drill_cadence_days": 30,
        "failover_quorum": 2,
    }
    response = client.post("/inventory/policies/new/", form)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_rto_minutes_error"' in body and "must be shorter than the MTD (60 min)" in body
    response = client.post("/inventory/policies/new/", {**form, "rto_minutes": 15})
    assert response.status_code == 302
    assert RecoveryPolicy.objects.get(name="gold").allowed_regions == ["eu-west-1", "eu-central-1"]
    assert AuditEvent.objects.filter(action="policy.created").count() == 1


def test_policy_editor_is_for_admins_only(client_for, commander) -> None:
    policy = RecoveryPolicyFactory.create()
    client = client_for(commander)
    assert client.get("/inventory/policies/new/").status_code == 403
    assert client.get(f"/inventory/policies/{policy.public_id}/edit/").status_code == 403
    assert client.get("/inventory/policies/").status_code == 200


def test_admin_without_mfa_is_sent_to_verify(client_for, admin) -> None:
    response = client_for(admin).get("/inventory/policies/new/")
    assert response.status_code == 302 and "/accounts/mfa/" in response["Location"]


def test_readiness_overview_counts_and_chart(client_for, compliance) -> None:
    fresh = AssetFactory.create(name="fresh")
    RecoveryPointFactory.create(asset=fresh, data_as_of=timezone.now() - timedelta(minutes=5))
    stale = AssetFactory.create(name="stale")
    RecoveryPointFactory.create(asset=stale, data_as_of=timezone.now() - timedelta(hours=3))
    AssetFactory.create(name="uncovered", policy=None)
    readiness_sweep()
    body = client_for(compliance).get("/inventory/readiness/").content.decode()
    assert "Backup age against RPO" in body and "<svg" in body
    assert body.index("stale") < body.index("fresh")
    assert "past the RPO of 1 h" in body


def test_vaults_page_lists_vaults(client_for, viewer) -> None:
    asset = AssetFactory.create()
    body = client_for(viewer).get("/inventory/vaults/").content.decode()
    assert asset.vault is not None and asset.vault.name in body


def test_asset_editor_creates_an_asset(client_for, admin) -> None:
    policy = RecoveryPolicyFactory.create()
    client = client_for(admin, mfa=True)
    data = {
        "name": "new-model",
        "kind": "model",
        "owner_team": "ml",
        "tier": 1,
        "data_classes": ["personal"],
        "region": "eu-west-1",
        "environment": "production",
        "source_uri": "relative",
        "labels": "service=fraud",
        "policy": policy.pk,
    }
    body = client.post("/inventory/assets/new/", data).content.decode()
    assert "absolute path" in body
    response = client.post("/inventory/assets/new/", {**data, "source_uri": "/srv/new"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="asset.created").count() == 1
