"""Inputs found by fuzzing the connector surfaces (#14) that gave a 500: each is now a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.connectors import ConfigInvalid, connector_class
from inventory.models import Asset
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/inventory/assets/"
BASE: dict[str, Any] = {
    "name": "flags-db",
    "kind": "dataset",
    "owner_team": "risk",
    "tier": 1,
    "region": "eu-west-1",
    "source_uri": "/srv/flags",
    "policy": "gold",
}
SURROGATE = "\ud800"  # what JSON's "\ud800" escape decodes to: no UTF-8 page or PostgreSQL text can hold it


@pytest.fixture
def api(client_for, admin) -> Any:
    RecoveryPolicyFactory.create(name="gold")
    client = client_for(admin, mfa=True)
    client.raise_request_exception = False  # a 500 is the answer under test, not an exception
    return client


@pytest.mark.parametrize(
    ("connector", "config", "said"),
    [
        ("postgres", {"dbname": SURROGATE}, "dbname: text must be valid Unicode"),
        ("redis", {"host": f"cache{SURROGATE}"}, "host: text must be valid Unicode"),
        ("mlflow", {"tracking_uri": "http://m:5000", "username": SURROGATE}, "username: text must be valid Unicode"),
        ("postgres", {"dbname": "f", "tables": [SURROGATE]}, "tables: text must be valid Unicode"),
        ("postgres", {"dbname": "f", SURROGATE: 1}, "Unknown postgres field(s): '\\ud800'"),
        ("mlflow", {"tracking_uri": "http://[::1"}, "tracking_uri: the address is not a URL"),
        ("mlflow", {"tracking_uri": "http://m:5000", "drill_tracking_uri": "https://[fe80::1"}, "drill_tracking_uri"),
        ("s3", {"bucket": "b", "endpoint_url": "http://[::1:9000"}, "endpoint_url: the address is not a URL"),
    ],
)
def test_a_config_value_no_page_can_show_is_a_400_naming_it(
    connector: str, config: dict[str, Any], said: str, api: Any
) -> None:
    body = {**BASE, "connector": connector, "connector_config": config}
    if connector == "s3":
        body["source_uri"] = "s3://b/"
    response = api.post(API, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert said in response.json()["error"]["fields"]["connector_config"][0]
    assert not Asset.objects.filter(name="flags-db").exists()
    asset = AssetFactory.create(name="other")
    changed = api.patch(f"{API}{asset.public_id}/", body, content_type="application/json")
    assert changed.status_code == 400 and said in changed.json()["error"]["fields"]["connector_config"][0]


def test_unknown_keys_are_named_short_and_a_number_key_is_refused_not_crashed() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        # YAML reads "1: x" as a number key; a number and a text key cannot be sorted together.
        connector_class("postgres").parse({"dbname": "f", 1: "x", "zz": "y", "k" * 5000: "z"})
    said = str(caught.value)
    assert said.startswith("Unknown postgres field(s): 1, 'kkkkkkkkkkkkkkkkkkk..., zz.") and len(said) < 300, said
    with pytest.raises(ConfigInvalid, match="and 5 more"):
        connector_class("redis").parse({f"k{i}": 1 for i in range(15)})
