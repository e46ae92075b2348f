"""The traffic API: configure a driver, save golden sets, fetch a certificate; bad input gets a JSON reason."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def as_verified(user_role: str) -> APIClient:
    from dr_portal.accounts.services import token_issue

    person = UserFactory.create(username=f"u-{user_role}", role=user_role)
    issued = token_issue(user=person, name="t", mfa_verified=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def test_configure_haproxy_then_read_it_back() -> None:
    client = as_verified("admin")
    asset = AssetFactory.create(name="scoring", kind="endpoint")
    body = {
        "driver": "haproxy",
        "config": {"socket": "tcp:127.0.0.1:9999", "backend": "be_s", "servers": {"primary": "p"}},
    }
    answer = client.put(f"/api/v1/runs/traffic/{asset.public_id}/", body, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["moves_traffic"] is True
    assert client.get(f"/api/v1/runs/traffic/{asset.public_id}/").json()["config"]["backend"] == "be_s"


def test_bad_driver_config_and_golden_set_get_json_reasons() -> None:
    client = as_verified("admin")
    endpoint = AssetFactory.create(name="scoring", kind="endpoint")
    bad = client.put(
        f"/api/v1/runs/traffic/{endpoint.public_id}/",
        {"driver": "webhook", "config": {"url": "https://x/y", "secret": "plain"}},
        format="json",
    )
    assert bad.status_code == 400 and "Unknown setting 'secret'" in bad.json()["error"]["fields"]["non_field_errors"][0]
    model = AssetFactory.create(name="scorer")
    not_endpoint = client.put(f"/api/v1/runs/traffic/{model.public_id}/", {"driver": "record_only"}, format="json")
    assert (
        not_endpoint.status_code == 400
        and "not an endpoint" in not_endpoint.json()["error"]["fields"]["non_field_errors"][0]
    )
    golden = {"model_format": "pickle", "model_path": "m.pkl", "inputs": [[1.0]], "expected": [1.0], "tolerance": 0.1}
    refused = client.post(f"/api/v1/runs/golden-sets/{model.public_id}/", golden, format="json")
    assert (
        refused.status_code == 400
        and "No loader for model format 'pickle'" in refused.json()["error"]["fields"]["non_field_errors"][0]
    )
    ok = client.post(
        f"/api/v1/runs/golden-sets/{model.public_id}/",
        {**golden, "model_format": "npy", "model_path": "w.npy"},
        format="json",
    )
    assert ok.status_code == 201 and len(ok.json()["sha256"]) == 64


def test_a_viewer_reads_but_cannot_configure() -> None:
    client = as_verified("viewer")
    asset = AssetFactory.create(name="scoring", kind="endpoint")
    assert client.get(f"/api/v1/runs/traffic/{asset.public_id}/").json()["driver"] == "record_only"
    assert client.put(
        f"/api/v1/runs/traffic/{asset.public_id}/", {"driver": "record_only"}, format="json"
    ).status_code in (403, 404)
