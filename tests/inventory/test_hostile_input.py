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


IMPORT = "/api/v1/inventory/import/"
ROW = "{name: imp, kind: dataset, owner_team: ml, tier: 1, region: eu-west-1, source_uri: /srv/imp"
CSV_HEAD = "name,kind,owner_team,tier,region,source_uri,connector,connector_config,depends_on\n"


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("e.yaml", f"assets:\n- {ROW}, name: {{a: b}}}}\n", "line 2, field name: expected text, not a dict."),
        ("e.yaml", f"assets:\n- {ROW}, name: [a, b]}}\n", "line 2, field name: expected text, not a list."),
        ("e.yaml", f"assets:\n- {ROW}, owner_team: true}}\n", "field owner_team: expected text, not true or false."),
        ("e.yaml", f'assets:\n- {ROW}, title: "a\\0b"}}\n', "field title: text may not hold a NUL character"),
        # libyaml refuses the escape itself: a lone surrogate reaches an import only in JSON (connector_config)
        ("e.yaml", f'assets:\n- {ROW}, title: "\\ud800"}}\n', "found invalid Unicode character escape code"),
        ("e.yaml", "policies:\n- {name: p, rto_minutes: .inf}\n", "line 2, field rto_minutes: give a finite number"),
        ("e.yaml", f"assets:\n- {ROW}, tier: .inf}}\n", "field tier: give a finite number, not inf."),
        ("e.yaml", "assets: " + "[" * 5000 + "]" * 5000, "nested more deeply than a catalogue ever is"),
        ("e.csv", CSV_HEAD + "a,dataset,ml,1,eu,/srv/a,redis,x" + "y" * 200_000 + ",\n", "line 2: not readable as CSV"),
        ("e.csv", CSV_HEAD + 'a,dataset,ml,1,eu,/srv/a,redis,"' + "[" * 5000 + '",\n', "connector_config: write the"),
    ],
)
def test_an_import_with_a_value_of_the_wrong_shape_is_a_400_on_its_line(
    name: str, text: str, said: str, api: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(IMPORT, {"file": SimpleUploadedFile(name, text.encode())})
    assert response.status_code == 400, response.content[:300]
    assert any(said in line for line in response.json()["error"]["fields"]["file"]), response.json()
    assert not Asset.objects.exists()
    page = api.post("/inventory/import/", {"file": SimpleUploadedFile(name, text.encode())})
    assert page.status_code == 200 and not Asset.objects.exists()


@pytest.mark.parametrize("field", ["connector", "fallback", "title"])
def test_an_empty_yaml_value_in_a_text_field_imports_as_empty_text(field: str, api: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = f"assets:\n- {ROW}, {field}: null, tier: 2}}\n"
    response = api.post(IMPORT, {"file": SimpleUploadedFile("e.yaml", text.encode())})
    assert response.status_code == 201, response.content[:300]
    assert getattr(Asset.objects.get(name="imp"), field) == ""


def test_a_problem_met_on_every_line_is_said_once(api: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = CSV_HEAD + "a,dataset,ml,1,eu,/srv/a,,," + ";".join(["ghost"] * 3000) + "\n"
    response = api.post(IMPORT, {"file": SimpleUploadedFile("e.csv", text.encode())})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == ["line 2, field upstream: no asset named 'ghost'."]


@pytest.mark.parametrize(
    "details",
    [
        {"models": [1, 2]},
        {"models": {"m": None}},
        {"models": {"m": {"aliases": [1]}}},
        {"models": {"m": {"aliases": {"a": {"x": 1}}, "versions": []}}},
        {"models": "x"},
    ],
)
def test_a_point_whose_mlflow_capture_is_damaged_leaves_the_alias_api_and_history_page_standing(
    details: dict[str, Any], api: Any
) -> None:
    from datetime import UTC, datetime

    from tests.factories import RecoveryPointFactory

    asset = AssetFactory.create(name="fraud-model", connector="mlflow")
    when = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    capture = {"format": 1, "kind": "mlflow", "data_as_of": when.isoformat(), "details": details}
    RecoveryPointFactory.create(asset=asset, data_as_of=when, manifest={"extra": {"capture": capture}})
    aliases = api.get(f"{API}{asset.public_id}/aliases/", {"model": "m", "alias": "a", "at": "2026-11-30T10:00"})
    assert aliases.status_code == 404 and "has no MLflow capture with aliases" in aliases.json()["detail"]
    page = api.get(f"/inventory/assets/{asset.public_id}/history/")
    assert page.status_code == 200
    if details != {"models": {"m": {"aliases": {"a": {"x": 1}}, "versions": []}}}:  # that one describes itself
        assert "mlflow capture (what it holds cannot be read)" in page.content.decode()


@pytest.mark.parametrize("member", [[1], "x", 5])
def test_a_group_restore_whose_target_config_member_is_not_a_mapping_is_a_problem_not_a_500(
    member: Any, api: Any
) -> None:
    from inventory.services import plan_save

    AssetFactory.create(name="a", connector="postgres", connector_config={"dbname": "x"}, region="eu-west-1")
    AssetFactory.create(name="g", connector="group", connector_config={"members": ["a"]}, region="eu-west-1")
    step = {"key": "restore", "kind": "restore", "asset": "g", "target_config": {"a": member}}
    plan = plan_save(data={"name": "odd target", "steps": [step]}, by=None)
    for mode in ("drill", "recovery"):
        response = api.post("/api/v1/runs/dry-run/", {"plan": str(plan.public_id), "mode": mode}, "application/json")
        assert response.status_code == 200, response.content[:300]
        said = " ".join(response.json()["problems"])
        assert "target_config: the member a takes a mapping of its connector's fields." in said, said


def test_an_overlong_inventory_search_is_refused_on_its_field(api: Any) -> None:
    AssetFactory.create(name="flags-db")
    response = api.get("/inventory/", {"q": "x" * 70_000})
    assert response.status_code == 200
    said = "Search: Ensure this value has at most 200 characters (it has 70000). The list below is not filtered."
    assert said in response.content.decode()


@pytest.mark.parametrize("field", ["title", "team", "name"])
def test_a_nul_typed_into_a_discovery_proposal_is_refused_before_anything_is_added(field: str, api: Any) -> None:
    from django.core import signing

    from inventory.views_discover import SALT

    row = {
        "name": "pg-a",
        "title": "",
        "team": "t",
        "tier": 1,
        "kind": "dataset",
        "connector": "postgres",
        "config": {"dbname": "a"},
        "labels": {},
        "source_uri": "",
        "problem": "",
        "covered_by": None,
        "exists": "",
        "addable": True,
    }
    state = {"kind": "postgres", "system": "postgres", "region": "eu-west-1", "rows": [row], "bounded": []}
    token = signing.dumps(state, salt=SALT, compress=True)
    post = {"action": "confirm", "proposals": token, "add-0": "on", f"{field}-0": "a\x00b", "policy-0": "", "vault": ""}
    response = api.post("/inventory/discover/", post)
    assert response.status_code == 200  # PostgreSQL answered 500: its text columns hold no NUL
    assert f"the {field} may not hold a NUL character." in response.content.decode()
    assert not Asset.objects.exists()
