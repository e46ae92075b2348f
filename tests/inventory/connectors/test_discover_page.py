"""Discovery on a page, against a real MLflow server: proposals first, assets only once a person confirms."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from dr_portal.audit.models import AuditEvent
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.models import Asset
from tests.inventory.connectors.test_mlflow import register_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def _token(page: str) -> str:
    found = re.search(r'name="proposals" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _find(client: Any, **fields: Any) -> str:
    response = client.post("/inventory/discover/", {"action": "find", "config_kind": fields["kind"], **fields})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.servers
def test_mlflow_models_are_proposed_with_tags_mapped_and_added_only_once_confirmed(
    source_url: str, target_url: str, admin: Any, client_for: Any
) -> None:
    api = MlflowRest(source_url)
    labelled, bare = f"churn-{uuid.uuid4().hex[:6]}", f"adhoc-{uuid.uuid4().hex[:6]}"
    api.post(
        "/registered-models/create",
        {
            "name": labelled,
            "description": "Churn propensity scorer\nretrained weekly",
            "tags": [{"key": "owner", "value": "growth-ml"}, {"key": "tier", "value": "1"}],
        },
    )
    register_version(api, labelled, {"MLmodel": b"flavor: sklearn"}, {"depth": "3"}, 0.8)
    api.post("/registered-models/create", {"name": bare})
    client = client_for(admin, mfa=True)

    page = _find(client, kind="mlflow", region="eu-west-1", config_tracking_uri=source_url,
                 config_drill_tracking_uri=target_url)  # fmt: skip
    assert f"Add <strong>{labelled}</strong>" in page and f"Add <strong>{bare}</strong>" in page
    assert not Asset.objects.filter(name__in=[labelled, bare]).exists()  # proposing adds nothing
    names = re.findall(r'name="name-(\d+)" value="([^"]+)"', page)
    index = {name: i for i, name in names}
    i, j = index[labelled], index[bare]
    assert 'value="Churn propensity scorer"' in page
    assert f'name="team-{i}" value="growth-ml"' in page
    assert re.search(rf'name="tier-{i}">.*?<option value="1" selected>', page, re.S)

    response = client.post(
        "/inventory/discover/",
        {
            "action": "confirm",
            "proposals": _token(page),
            f"add-{i}": "1",
            f"name-{i}": labelled,
            f"title-{i}": "Churn scorer (edited)",
            f"team-{i}": "growth-ml",
            f"tier-{i}": "1",
            f"name-{j}": bare,
            f"tier-{j}": "3",
        },
    )
    assert response.status_code == 302, re.findall(r"<li>(.*?)</li>", response.content.decode())
    asset = Asset.objects.get(name=labelled)
    assert (asset.title, asset.owner_team, asset.tier, asset.connector) == (
        "Churn scorer (edited)",
        "growth-ml",
        1,
        "mlflow",
    )
    assert asset.connector_config["models"] == [labelled]
    assert asset.connector_config["drill_tracking_uri"] == target_url
    assert not Asset.objects.filter(name=bare).exists()  # not ticked, not added
    event = AuditEvent.objects.get(action="asset.discovery_confirmed")
    assert event.payload["added"] == [labelled] and bare in event.payload["left_out"]
    assert event.actor == admin

    # The proposals cannot be altered on the way: a changed token is refused and adds nothing.
    again = _find(client, kind="mlflow", region="eu-west-1", config_tracking_uri=source_url)
    assert "Already in the inventory as" in again
    forged = client.post(
        "/inventory/discover/", {"action": "confirm", "proposals": _token(again) + "x", f"add-{j}": "1"}
    )
    assert forged.status_code == 302 and not Asset.objects.filter(name=bare).exists()


def test_tables_are_proposed_and_an_invalid_edit_adds_nothing(tmp_path: Path, admin: Any, client_for: Any) -> None:
    db = tmp_path / "features.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE card (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE merchant (id INTEGER PRIMARY KEY)")
    client = client_for(admin, mfa=True)
    page = _find(client, kind="sqlite", region="eu-west-1", config_path=str(db))
    assert "Add <strong>features-card</strong>" in page and "Add <strong>features-merchant</strong>" in page
    token = _token(page)
    response = client.post(
        "/inventory/discover/",
        {"action": "confirm", "proposals": token, "add-0": "1", "name-0": "features-card", "title-0": "Cards",
         "team-0": "", "tier-0": "2", "add-1": "1", "name-1": "features-merchant", "title-1": "M", "team-1": "risk"},
    )  # fmt: skip
    assert response.status_code == 200 and "Nothing was added." in response.content.decode()
    assert not Asset.objects.filter(name__startswith="features-").exists()  # all or nothing
    assert not AuditEvent.objects.filter(action="asset.discovery_confirmed").exists()


def test_only_inventory_managers_see_discovery(commander: Any, client_for: Any) -> None:
    assert client_for(commander).get("/inventory/discover/").status_code == 403


def test_an_unreachable_system_is_said_on_the_page(admin: Any, client_for: Any) -> None:
    page = _find(
        client_for(admin, mfa=True), kind="mlflow", region="eu-west-1", config_tracking_uri="http://127.0.0.1:9"
    )
    assert "cannot be reached" in page or "refused" in page.lower(), page
