"""Discovery as a tester found it: names made slugs, changes said, policy and vault chosen, coverage marked.

Against a real MLflow server where a page is driven; the naming rules on their own need no server.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from inventory.connectors import Proposal
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.discover_rows import proposal_row, unique_names
from inventory.models import Asset
from tests.factories import AssetFactory, RecoveryPolicyFactory, VaultFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]
MLFLOW = {"tracking_uri": "http://127.0.0.1:9"}


def _row(name: str, **labels: str) -> dict[str, Any]:
    return proposal_row(
        Proposal(name=name, kind="mlflow", config={**MLFLOW, "models": [name]}, labels=labels),
        kind="mlflow",
        asset_kind="model",
    )


def _token(page: str) -> str:
    found = re.search(r'name="proposals" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _index(page: str) -> dict[str, str]:
    return {name: i for i, name in re.findall(r'name="name-(\d+)" value="([^"]+)"', page)}


def test_names_become_unique_slugs_and_every_change_is_said() -> None:
    rows = [_row("Fraud Scorer v2"), _row("fraud-scorer-v2"), _row("模型-🚀"), _row("ok-name")]
    unique_names(rows)
    names = [row["name"] for row in rows]
    assert names[0] == "fraud-scorer-v2" and names[1] == "fraud-scorer-v2-2" and names[3] == "ok-name"
    assert re.fullmatch(r"mlflow-[0-9a-f]{8}", names[2])
    assert all(re.fullmatch(r"[-a-zA-Z0-9_]+", n) for n in names)  # every one a valid slug
    assert 'from "Fraud Scorer v2"' in rows[0]["notes"][0]
    assert "already fraud-scorer-v2" in rows[1]["notes"][0]
    assert "short hash" in rows[2]["notes"][0] and rows[2]["title"] == "模型-🚀"  # the title keeps the name
    assert rows[3]["notes"] == []


def test_a_tier_tag_out_of_range_and_a_long_team_are_said_not_silently_changed() -> None:
    row = _row("scorer", tier="7", team="t" * 150)
    assert row["tier"] == 2 and not row["tier_labelled"] and row["tier_tag"] == "7"
    assert any("tier=7 is not a tier (0 to 3): tier 2 is proposed" in n for n in row["notes"])
    assert len(row["team"]) == 100 and any("150 characters" in n and "first 100" in n for n in row["notes"])
    assert row["source_uri"] == "" and row["described"].startswith("MLflow http://127.0.0.1:9")


@pytest.mark.servers
def test_confirm_chooses_policy_and_vault_and_words_errors_with_field_labels(
    source_url: str, admin: Any, client_for: Any
) -> None:
    api = MlflowRest(source_url)
    raw = f"Fraud Scorer {uuid.uuid4().hex[:6]}"
    api.post("/registered-models/create", {"name": raw, "tags": [{"key": "tier", "value": "7"}]})
    tier1 = RecoveryPolicyFactory.create(name="Tier 1 — business critical")
    RecoveryPolicyFactory.create(name="Tier 2 — important")
    vault = VaultFactory.create()
    client = client_for(admin, mfa=True)
    page = client.post(
        "/inventory/discover/",
        {"action": "find", "kind": "mlflow", "config_kind": "mlflow", "region": "eu-west-1",
         "config_tracking_uri": source_url},
    ).content.decode()  # fmt: skip
    slug = raw.lower().replace(" ", "-")
    i = _index(page)[slug]
    assert "The tag tier=7 is not 0 to 3; choose one." in page and "tier=7 is not a tier" in page
    assert f'<option value="{vault.public_id}" selected>' in page  # the only vault is chosen
    assert f"MLflow {source_url}" in page and "/discovered/" not in page  # the connector, not a made-up path

    base = {"action": "confirm", "proposals": _token(page), f"add-{i}": "1", f"title-{i}": "Scorer",
            f"tier-{i}": "1", f"policy-{i}": "tier", "vault": str(vault.public_id)}  # fmt: skip
    bad = client.post("/inventory/discover/", {**base, f"name-{i}": "Not A Slug", f"team-{i}": ""}).content.decode()
    assert "Nothing was added." in bad
    assert "Name: Enter a valid" in bad and "Owner team: This field cannot be blank." in bad
    assert "owner_team:" not in bad and not Asset.objects.filter(title="Scorer").exists()

    good = client.post("/inventory/discover/", {**base, f"name-{i}": slug, f"team-{i}": "risk"})
    assert good.status_code == 302
    asset = Asset.objects.get(name=slug)
    assert (asset.policy, asset.vault, asset.source_uri) == (tier1, vault, "")  # the tier's policy, the vault
    assert asset.policy_assigned_at is not None


@pytest.mark.servers
def test_an_assets_page_looks_at_the_whole_system_and_marks_what_it_covers(
    source_url: str, admin: Any, client_for: Any
) -> None:
    api = MlflowRest(source_url)
    mine, other = f"fraud-detection-{uuid.uuid4().hex[:6]}", f"churn-{uuid.uuid4().hex[:6]}"
    for name in (mine, other):
        api.post("/registered-models/create", {"name": name})
    # The existing asset writes the same server another way: localhost, a trailing slash.
    registry = AssetFactory.create(
        name=f"registry-{mine}",
        connector="mlflow",
        connector_config={"tracking_uri": source_url.replace("127.0.0.1", "localhost") + "/", "models": [mine]},
    )
    client = client_for(admin, mfa=True)
    start = client.get(f"/inventory/discover/?from={registry.public_id}").content.decode()
    assert re.search(r'name="config_models"[^>]*value=""', start) or 'value="' + mine not in start
    assert "Looking at the whole system of" in start

    page = client.post(
        f"/inventory/discover/?from={registry.public_id}",
        {"action": "find", "kind": "mlflow", "config_kind": "mlflow", "region": "eu-west-1",
         "config_tracking_uri": source_url, "config_models": ""},
    ).content.decode()  # fmt: skip
    assert f"Add <strong>{other}</strong>" in page  # the whole registry, not only the asset's model
    box = re.search(
        rf'<fieldset class="proposal proposal-exists">\s*<legend>.*?{mine}</strong>.*?</fieldset>', page, re.S
    )
    assert box and "disabled" in box.group(0) and f"registry-{mine}" in box.group(0)
    assert _index(page).get(other) is not None and mine not in _index(page)


def test_changing_the_system_swaps_its_fields_with_htmx_and_without_script(admin: Any, client_for: Any) -> None:
    client = client_for(admin, mfa=True)
    page = client.get("/inventory/discover/").content.decode()
    select = re.search(r'<select name="kind"[^>]*>', page)
    assert select and 'hx-get="/inventory/discover/"' in select.group(0) and 'hx-select="#discover"' in select.group(0)
    assert 'hx-indicator="#look-busy"' in page and 'hx-disabled-elt="#look-go"' in page
    assert "Looking at the system…" in page and 'id="discover"' in page

    swapped = client.get("/inventory/discover/?kind=postgres", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="config_dbname"' in swapped and 'name="config_tracking_uri"' not in swapped

    # Without script the form is posted with the new System: its fields come back, with a word why.
    posted = client.post(
        "/inventory/discover/",
        {"action": "find", "kind": "postgres", "config_kind": "mlflow", "region": "eu-west-1",
         "config_tracking_uri": "http://127.0.0.1:9"},
    ).content.decode()  # fmt: skip
    assert 'name="config_dbname"' in posted and "The fields below are now those of PostgreSQL" in posted


def test_every_look_bounds_its_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory.connectors import ConnectorError, get_connector
    from inventory.connectors.base import DISCOVER_TIMEOUT

    seen: dict[str, float] = {}

    def connection(base: str, *, timeout: float, **kwargs: Any) -> Any:
        seen["mlflow"] = timeout
        raise OSError("no answer")

    def pg_connect(**kwargs: Any) -> Any:
        import psycopg

        seen["postgres"] = kwargs["connect_timeout"]
        raise psycopg.OperationalError("timeout expired")

    class Redis:
        def __init__(self, **kwargs: Any) -> None:
            seen["redis"] = kwargs["socket_timeout"]
            seen["redis-connect"] = kwargs["socket_connect_timeout"]

        def ping(self) -> None:
            raise ConnectionError("no answer")

    monkeypatch.setattr("inventory.connectors.mlflow_rest.outbound.connector_connection", connection)
    monkeypatch.setattr("psycopg.connect", pg_connect)
    monkeypatch.setattr("redis.Redis", Redis)
    looks = {
        "mlflow": {"tracking_uri": "http://127.0.0.1:9", "timeout": 120},
        "postgres": {"dbname": "x", "connect_timeout": 600},
        "redis": {},
    }
    for kind, config in looks.items():
        with pytest.raises((ConnectorError, ConnectionError)):
            get_connector(kind, config).discover()
    assert seen["mlflow"] == DISCOVER_TIMEOUT and seen["postgres"] == int(DISCOVER_TIMEOUT)
    assert seen["redis"] == DISCOVER_TIMEOUT and seen["redis-connect"] <= DISCOVER_TIMEOUT
    assert get_connector("mlflow", looks["mlflow"]).config.timeout == 120  # the asset keeps its own setting


def test_only_a_server_connector_may_leave_the_source_empty() -> None:
    from django.core.exceptions import ValidationError

    asset = AssetFactory.build(source_uri="", connector="", connector_config={})
    with pytest.raises(ValidationError, match="Give the source"):
        asset.full_clean()
    server = AssetFactory.build(source_uri="", connector="mlflow", connector_config=MLFLOW)
    server.full_clean(exclude=["policy", "vault"])
