"""An asset's traffic driver and golden sets are set from a page, through the same services as the API."""

from __future__ import annotations

import json

import pytest

from incidents.runs.drivers.models import EndpointRoute
from incidents.runs.golden.models import GoldenSet
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def _url(asset) -> str:
    return f"/runs/assets/{asset.public_id}/behaviour/"


def test_an_admin_sets_a_driver_and_bad_config_is_named_on_the_page(client_for, admin) -> None:
    asset = AssetFactory.create(name="scoring-api", kind="endpoint")
    client = client_for(admin, mfa=True)
    assert "recorded, nothing switched" in client.get(_url(asset)).content.decode()

    bad = {"form": "driver", "driver": "haproxy", "config": json.dumps({"socket": "nope", "backend": "be"})}
    body = client.post(_url(asset), bad).content.decode()
    assert "socket must be unix:/path/to/admin.sock" in body and not EndpointRoute.objects.exists()

    config = {"socket": "unix:/run/haproxy/admin.sock", "backend": "be_scoring", "servers": {"primary": "eu"}}
    response = client.post(_url(asset), {"form": "driver", "driver": "haproxy", "config": json.dumps(config)})
    assert response.status_code == 302
    assert EndpointRoute.objects.get(asset=asset).config == config
    assert "be_scoring" in client.get(_url(asset)).content.decode()


def test_an_admin_adds_a_golden_set_and_a_format_without_loader_is_refused(client_for, admin, viewer) -> None:
    asset = AssetFactory.create(name="fraud-model", kind="model")
    client = client_for(admin, mfa=True)
    data = {
        "form": "golden",
        "model_format": "onnx",
        "model_path": "../outside.onnx",
        "inputs": "[[1, 2]]",
        "expected": "[3]",
        "tolerance": "0.001",
    }
    body = client.post(_url(asset), data).content.decode()
    assert "model_path must be a path inside" in body and not GoldenSet.objects.exists()
    body = client.post(_url(asset), {**data, "model_format": "pickle"}).content.decode()
    assert "Select a valid choice" in body
    assert client.post(_url(asset), {**data, "model_path": "model.onnx"}).status_code == 302
    assert GoldenSet.objects.get(asset=asset).model_path == "model.onnx"

    page = client_for(viewer).get(_url(asset)).content.decode()
    assert "model.onnx" in page and "Save golden set" not in page
    assert client_for(viewer).post(_url(asset), {**data, "model_path": "m2.onnx"}).status_code in (403, 404)
