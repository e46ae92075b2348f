"""The API's one error contract: every failure is JSON in one shape with the right status, never HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dr_portal.accounts.models import User
from dr_portal.accounts.services import token_issue
from incidents.models import Incident
from incidents.services import incident_declare
from inventory.models import Asset
from tests.db_state import nothing_changes
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db

SOME_UUID = "0f8e1d3c-8f43-4cde-9f35-8c0a54f4b8a1"


def api(user: User) -> Client:
    raw = token_issue(user=user, name="test", mfa_verified=False).raw
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert error["status"] == status and error["code"] and error["detail"]
    return dict(error)


@pytest.fixture
def asset(db: None) -> Asset:
    return AssetFactory.create(name="fraud-model", tier=0, policy=RecoveryPolicyFactory.create())


@pytest.fixture
def incident(commander: User, asset: Asset) -> Incident:
    return incident_declare(
        title="Scores drift", category="integrity", assets=[asset], by=commander, commander=commander
    )


# --- ids in the path ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/incidents/{bad}/"),
        ("post", "/api/v1/incidents/{bad}/notes/"),
        ("get", "/api/v1/incidents/{bad}/timeline/"),
        ("post", "/api/v1/action-items/{bad}/status/"),
        ("get", "/api/v1/reports/{bad}/"),
        ("get", "/api/v1/reports/{bad}/download/"),
        ("get", "/api/v1/runs/{bad}/"),
        ("post", "/api/v1/runs/{bad}/cancel/"),
        ("get", "/api/v1/runs/steps/{bad}/"),
        ("get", "/api/v1/inventory/assets/{bad}/"),
        ("post", "/api/v1/inventory/assets/{bad}/backup/"),
        ("get", "/api/v1/inventory/plans/{bad}/"),
    ],
)
@pytest.mark.parametrize("bad", ["not-a-uuid", "0f8e1d3c-8f43-4cde-9f35-8c0a54f4b8aZ", "----"])
def test_a_malformed_id_in_the_path_is_a_400_in_the_error_shape(
    admin: User, client_for: Any, method: str, path: str, bad: str
) -> None:
    client = client_for(admin, mfa=True)
    response = getattr(client, method)(path.format(bad=bad), {}, content_type="application/json")
    error = error_of(response, 400)
    assert error["code"] in {"malformed_id", "invalid"}


def test_a_well_formed_id_of_nothing_is_a_404_in_the_error_shape(commander: User) -> None:
    assert error_of(api(commander).get(f"/api/v1/incidents/{SOME_UUID}/"), 404)["code"] == "not_found"


def test_a_path_no_route_matches_is_a_json_404_under_the_api_only(commander: User) -> None:
    assert error_of(api(commander).get("/api/v1/no-such-thing/"), 404)["code"] == "not_found"
    assert error_of(Client().post("/api/v2/incidents/"), 404)["code"] == "not_found"
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_unknown_api_path_is_json_even_with_debug_on(commander: User, settings: Any) -> None:
    settings.DEBUG = True  # `make run`: Django would answer with its HTML debug page
    response = api(commander).get("/api/v1/nope/")
    assert error_of(response, 404)["code"] == "not_found"
    assert len(response.content) < 200
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_a_missing_page_with_debug_on_is_the_sites_own_404_not_the_debug_page(
    commander: User, client_for: Any, settings: Any
) -> None:
    settings.DEBUG = True
    client = client_for(commander)
    for address in ("/inventory/assets/", f"/inventory/assets/{SOME_UUID}/", "/no-such-page"):
        page = client.get(address)
        body = page.content.decode()
        assert page.status_code == 404 and "Nothing here" in body, address
        assert "URLconf" not in body and "Using the URLconf" not in body  # Django's list of every route
    assert client.get("/inventory").status_code == 301  # a missing slash still leads to the page


# --- refusals ----------------------------------------------------------------------------------


def test_every_refusal_is_a_409_with_its_code_and_nothing_changes(oncall: User, compliance: User) -> None:
    no_vault = AssetFactory.create(vault=None)
    as_oncall, as_compliance = api(oncall), api(compliance)
    with nothing_changes(no_vault):
        backup = as_oncall.post(f"/api/v1/inventory/assets/{no_vault.public_id}/backup/")
    error = error_of(backup, 409)
    assert error["code"] == "backup_refused" and "has no vault" in error["detail"]

    with nothing_changes():
        report = as_compliance.post(
            "/api/v1/reports/readiness/",
            {"period_first": "2026-02-01", "period_last": "2026-01-01"},
            content_type="application/json",
        )
    error = error_of(report, 409)
    assert error["code"] == "report_refused" and "ends before it starts" in error["detail"]


# --- the unexpected ---------------------------------------------------------------------------------


def test_an_unexpected_error_is_a_500_in_the_error_shape_and_logged(
    commander: User, incident: Incident, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the selector fell over")

    monkeypatch.setattr("incidents.api.incident_api_list", broken)
    error = error_of(api(commander).get("/api/v1/incidents/"), 500)
    assert error["code"] == "server_error" and "fell over" not in error["detail"]
    assert any(r.exc_info and "the selector fell over" in str(r.exc_info[1]) for r in caplog.records)


# --- bad bodies ------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_a_deeply_nested_body_is_a_400_everywhere(commander: User, incident: Incident, depth: int) -> None:
    body = nested(depth)
    signed_in = api(commander).post(
        f"/api/v1/incidents/{incident.public_id}/notes/", body, content_type="application/json"
    )
    assert error_of(signed_in, 400)["code"] == "parse_error"
    anonymous = Client().post("/api/v1/auth/token/", body, content_type="application/json")
    assert error_of(anonymous, 400)["code"] == "parse_error"


def test_a_body_nested_within_the_bound_is_parsed(commander: User, incident: Incident) -> None:
    # The body is parsed and then refused by the serializer for its shape, not by the parser for depth.
    body = json.dumps({"body": json.loads(nested(60))})
    response = api(commander).post(
        f"/api/v1/incidents/{incident.public_id}/notes/", body, content_type="application/json"
    )
    assert error_of(response, 400)["code"] == "invalid"


def test_an_integer_too_large_for_its_column_is_a_400_naming_the_field(
    commander: User, admin: User, incident: Incident, client_for: Any
) -> None:
    base = f"/api/v1/incidents/{incident.public_id}/"
    client = api(commander)
    with nothing_changes(incident):
        facts = client.post(base + "facts/", {"subjects_approx": 2**40}, content_type="application/json")
        pin = client.post(base + "pins/", {"seq": 2**70}, content_type="application/json")
    assert "subjects_approx" in error_of(facts, 400)["fields"]
    assert "seq" in error_of(pin, 400)["fields"]

    client = client_for(admin, mfa=True)
    policy = RecoveryPolicyFactory.create()
    with nothing_changes(policy):
        huge = client.patch(
            f"/api/v1/inventory/policies/{policy.public_id}/",
            {"rto_minutes": 10**30},
            content_type="application/json",
        )
    assert "rto_minutes" in error_of(huge, 400)["fields"]


# --- the schema -----------------------------------------------------------------------------------------


def test_the_schema_declares_the_error_shape_on_every_operation(viewer: User) -> None:
    schema = api(viewer).get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 40
    for path, method, op in operations:
        for status in ("400", "401", "403", "404", "409", "429", "500"):
            declared = op["responses"].get(status)
            assert declared is not None, f"{method.upper()} {path} does not declare {status}"
            ref = declared["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (path, method, status)


def test_the_schema_generates_without_warnings(tmp_path) -> None:
    from django.core.management import call_command

    # --fail-on-warn turns any warning (an enum-name collision among them) into an error.
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


def test_incident_reads_answer_what_the_schema_says(commander: User, incident: Incident) -> None:
    """Lists an action returns whole are not documented as pages; objects are not documented as lists."""
    from openapi_schema_validator import OAS30Validator

    client = api(commander)
    schema = client.get("/api/schema/?format=json").json()
    checked = 0
    for path in ("roles", "timeline", "clocks", "notifications", "action-items"):
        template = f"/api/v1/incidents/{{incident_id}}/{path}/"
        declared = schema["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        body = client.get(template.replace("{incident_id}", str(incident.public_id))).json()
        errors = list(OAS30Validator({**declared, "components": schema["components"]}).iter_errors(body))
        assert errors == [], (path, [e.message[:200] for e in errors])
        checked += 1
    assert checked == 5
