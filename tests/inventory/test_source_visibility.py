"""Where an asset's data lies — its source URI and connector config — is shown only to roles that may restore.

The asset API gave every signed-in person the source URI (a server path) and the connector
config (a database's host and port), the YAML export (page and API) did the same, and the runs
API gave a restore step's target (the source folder, for a restore in place), while the asset
page already kept server paths to restorers.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client

from dr_portal.accounts.services import token_issue
from inventory.models import Asset
from tests.factories import AssetFactory, StepRunFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inventory"
PATH = "/srv/hidden-folder/fraud"
HOST = "pg-hidden.internal"
MAY_NOT_RESTORE = ["viewer", "compliance"]
MAY_RESTORE = ["admin", "commander", "oncall"]


@pytest.fixture
def asset() -> Asset:
    config = {"host": HOST, "port": 5432, "dbname": "features", "user": "dr", "password": "env:PGPASSWORD"}
    return AssetFactory.create(name="fraud-features", source_uri=PATH, connector="postgres", connector_config=config)


def _client(client_for: Any, request: pytest.FixtureRequest, role: str) -> Client:
    return client_for(request.getfixturevalue(role), mfa=True)


def _places(client: Client, asset: Asset) -> dict[str, str]:
    return {
        "asset API": client.get(f"{API}/assets/{asset.public_id}/").content.decode(),
        "asset list API": client.get(f"{API}/assets/").content.decode(),
        "asset page": client.get(f"/inventory/assets/{asset.public_id}/").content.decode(),
        "export page": client.get("/inventory/export.yaml").content.decode(),
        "export API": client.get(f"{API}/export/").content.decode(),
        "readiness API": client.get(f"{API}/assets/{asset.public_id}/readiness/").content.decode(),
    }


@pytest.mark.parametrize("role", MAY_NOT_RESTORE)
def test_roles_that_may_not_restore_see_no_source_path_or_host(
    asset: Asset, client_for: Any, request: pytest.FixtureRequest, role: str
) -> None:
    places = _places(_client(client_for, request, role), asset)
    leaks = [name for name, text in places.items() if "hidden-folder" in text or HOST in text]
    assert leaks == []
    one = _client(client_for, request, role).get(f"{API}/assets/{asset.public_id}/").json()
    assert one["source_uri"] is None and one["connector_config"] is None and one["connector"] == "postgres"
    assert "A folder on the server (shown to people who may restore)" in places["asset page"]
    assert "<dt>Captured by</dt><dd>PostgreSQL database</dd>" in places["asset page"]
    exported = yaml.safe_load(places["export page"])
    assert exported["assets"][0]["source_uri"] is None and exported["assets"][0]["connector_config"] is None
    assert places["export page"].startswith("# Each asset's source_uri and connector_config are left out")


def test_an_api_token_of_a_viewer_gets_no_source_either(asset: Asset, viewer: Any) -> None:
    raw = token_issue(user=viewer, name="test", mfa_verified=False).raw
    one = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"{API}/assets/{asset.public_id}/").json()
    assert one["name"] == "fraud-features"
    assert one["source_uri"] is None and one["connector_config"] is None


@pytest.mark.parametrize("role", MAY_RESTORE)
def test_roles_that_may_restore_see_the_source_everywhere(
    asset: Asset, client_for: Any, request: pytest.FixtureRequest, role: str
) -> None:
    client = _client(client_for, request, role)
    places = _places(client, asset)
    for name in ("asset API", "asset list API", "asset page", "export page", "export API"):
        assert PATH in places[name], name
    assert HOST in places["asset page"]  # what captures it: the database's host and port
    one = client.get(f"{API}/assets/{asset.public_id}/").json()
    assert one["source_uri"] == PATH and one["connector_config"]["host"] == HOST
    exported = yaml.safe_load(places["export page"])
    assert exported["assets"][0]["connector_config"]["host"] == HOST


def test_an_s3_source_is_hidden_in_words_on_the_asset_page(client_for: Any, viewer: Any) -> None:
    asset = AssetFactory.create(source_uri="s3://hidden-bucket/models")
    page = client_for(viewer).get(f"/inventory/assets/{asset.public_id}/").content.decode()
    assert "hidden-bucket" not in page
    assert "A server or bucket (shown to people who may restore)" in page


@pytest.mark.parametrize(("role", "found"), [("viewer", []), ("compliance", []), ("commander", ["fraud-features"])])
def test_the_asset_search_looks_in_sources_only_for_roles_that_may_restore(
    asset: Asset, client_for: Any, request: pytest.FixtureRequest, role: str, found: list[str]
) -> None:
    """A search for a guessed path must not confirm it by listing the asset."""
    AssetFactory.create(name="other-asset", source_uri="/srv/elsewhere")
    page = _client(client_for, request, role).get("/inventory/", {"q": "hidden-folder"}).content.decode()
    assert [name for name in ("fraud-features", "other-asset") if f">{name}<" in page] == found


@pytest.mark.parametrize(("role", "shown"), [("viewer", False), ("compliance", False), ("oncall", True)])
def test_a_restore_steps_target_is_shown_in_the_runs_api_only_to_roles_that_may_restore(
    asset: Asset, client_for: Any, request: pytest.FixtureRequest, role: str, shown: bool
) -> None:
    step = StepRunFactory.create(asset=asset, target_path=PATH)
    client = _client(client_for, request, role)
    run = client.get(f"/api/v1/runs/{step.run.public_id}/").json()
    one = client.get(f"/api/v1/runs/steps/{step.public_id}/").json()
    assert [s["target_path"] for s in run["steps"]] == [PATH if shown else None]
    assert one["target_path"] == (PATH if shown else None)
