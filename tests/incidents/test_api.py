"""The incidents API: the same rules as the pages, through the access layer, refusals as 409 with the reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.services import token_issue
from incidents.models import Incident, IncidentStatus
from incidents.services import note_add
from tests.db_state import nothing_changes
from tests.factories import decide_mandatory_assessments

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    raw = token_issue(user=user, name="test", mfa_verified=False).raw
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, url: str, body: dict[str, object] | None = None):
    return client.post(url, body or {}, content_type="application/json")


def base(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.public_id}/"


def test_declare_and_run_through_the_api(commander, oncall, fraud_model) -> None:
    client = api(commander)
    created = post(
        client,
        "/api/v1/incidents/",
        {
            "title": "Poisoned training data",
            "category": "data_poisoning",
            "assets": ["fraud-model"],
            "commander": "chris",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["severity"] == "SEV1" and body["roles"] == {"commander": "chris"}
    assert body["allowed_next"] == ["investigating"]
    incident = Incident.objects.get(public_id=body["id"])
    assert post(client, base(incident) + "roles/", {"role": "ops_lead", "user": "oli"}).status_code == 201
    assert post(api(oncall), base(incident) + "notes/", {"body": "Quarantined the batch"}).status_code == 201
    moved = post(client, base(incident) + "transition/", {"to": "investigating"})
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"
    listed = client.get("/api/v1/incidents/?status=open").json()
    assert [row["reference"] for row in listed["results"]] == [incident.reference]
    assert listed["results"][0]["commander"] == "chris"
    history = client.get(base(incident) + "roles/").json()
    assert {(h["role"], h["user"]) for h in history} == {("commander", "chris"), ("ops_lead", "oli")}


def test_illegal_jump_is_a_409_with_the_reason(commander, incident) -> None:
    client = api(commander)
    with nothing_changes(incident):
        response = post(client, base(incident) + "transition/", {"to": "closed"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "incident_refused"
    assert response.json()["error"]["status"] == 409
    assert "cannot go from declared to closed" in response.json()["error"]["detail"]
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.DECLARED


def test_role_to_someone_without_permission_is_a_409(commander, viewer, incident) -> None:
    client = api(commander)
    with nothing_changes(incident):
        response = post(client, base(incident) + "roles/", {"role": "commander", "user": "vic"})
    assert response.status_code == 409
    assert "vic is viewer" in response.json()["error"]["detail"]


def test_note_on_closed_incident_is_a_409(commander, incident) -> None:
    client = api(commander)
    decide_mandatory_assessments(incident, commander)
    for to in ("investigating", "resolved", "closed"):
        post(client, base(incident) + "transition/", {"to": to})
    incident.refresh_from_db()
    with nothing_changes(incident):
        response = post(client, base(incident) + "notes/", {"body": "late thought"})
    assert response.status_code == 409 and "is closed" in response.json()["error"]["detail"]


def test_commands_go_through_the_access_layer(viewer, oncall, incident) -> None:
    assert api(viewer).get(base(incident)).status_code == 200
    assert post(api(viewer), base(incident) + "notes/", {"body": "x"}).status_code == 404
    assert post(api(oncall), base(incident) + "transition/", {"to": "investigating"}).status_code == 404
    assert post(api(viewer), "/api/v1/incidents/", {"title": "x", "category": "drift"}).status_code == 404
    assert Client().get("/api/v1/incidents/").status_code == 401


def test_invalid_input_is_a_400_with_fields(commander, incident) -> None:
    response = post(api(commander), base(incident) + "transition/", {"to": "exploded"})
    assert response.status_code == 400
    assert "to" in response.json()["error"]["fields"]


def test_timeline_pages_newest_first(oncall, incident) -> None:
    for i in range(60):
        note_add(incident=incident, body=f"n{i}", by=oncall)
    client = api(oncall)
    first = client.get(base(incident) + "timeline/").json()
    assert len(first["entries"]) == 50
    seqs = [e["seq"] for e in first["entries"]]
    assert seqs == sorted(seqs, reverse=True)
    assert first["entries"][0]["text"] == "n59"
    rest = client.get(base(incident) + f"timeline/?before={first['next_before']}").json()
    assert len(rest["entries"]) == 12 and rest["next_before"] is None  # 10 notes, the role and the declaration
    notes_only = client.get(base(incident) + "timeline/?kind=roles").json()
    assert [e["action"] for e in notes_only["entries"]] == ["incident.role_assigned"]


def test_clocks_and_the_notification_register(commander, incident) -> None:
    client = api(commander)
    aware = (timezone.now() - timedelta(hours=2)).isoformat()
    post(client, base(incident) + "facts/", {"personal_data": True, "aware_at": aware})
    [clock] = client.get(base(incident) + "clocks/").json()["clocks"]
    assert clock["regime"] == "gdpr_33" and clock["state"] == "running"
    assert 69 * 3600 < clock["seconds_left"] <= 70 * 3600
    filed = post(
        client,
        base(incident) + "notifications/",
        {"kind": "authority", "recipient": "ICO", "channel": "portal", "reference": "ICO-77",
         "sent_at": timezone.now().isoformat()},
    )  # fmt: skip
    assert filed.status_code == 201
    assert client.get(base(incident) + "clocks/").json()["clocks"][0]["state"] == "met"
    [notice] = client.get(base(incident) + "notifications/").json()
    assert notice["reference"] == "ICO-77" and notice["regimes"] == ["gdpr_33"]


def test_the_old_filings_endpoint_is_gone_and_points_at_the_register(commander, viewer, incident) -> None:
    client = api(commander)
    new = f"/api/v1/incidents/{incident.public_id}/notifications/"
    for response in (
        client.get(base(incident) + "filings/"),
        post(client, base(incident) + "filings/", {"regime": "gdpr_33", "recipient": "ICO"}),
    ):
        assert response.status_code == 410
        error = response.json()["error"]
        assert error["code"] == "moved" and error["location"] == new and new in error["detail"]
        assert response["Link"] == f'<{new}>; rel="successor-version"'
    assert not incident.notifications.exists()  # the POST wrote nothing
    # Someone who may not see the incident learns nothing, not even that it moved.
    assert api(viewer).get(f"/api/v1/incidents/{uuid.uuid4()}/filings/").status_code == 404


def test_drill_via_api_feeds_readiness(commander, fraud_model) -> None:
    client = api(commander)
    created = post(client, "/api/v1/drills/", {"assets": ["fraud-model"], "scenario": "Restore"})
    assert created.status_code == 201 and created.json()["kind"] == "drill"
    drill = Incident.objects.get()
    recorded = post(
        client, base(drill) + "drill-outcome/", {"asset": "fraud-model", "outcome": "passed", "evidence": "12 min"}
    )
    assert recorded.status_code == 200
    fraud_model.refresh_from_db()
    assert fraud_model.last_drill_at is not None
    plan = client.get("/api/v1/drills/schedules/").json()
    assert plan[0]["asset"] == "fraud-model" and plan[0]["overdue"] is False


def test_suggested_assets_are_capped_as_on_the_page_with_their_total(commander, incident, fraud_model) -> None:
    """An incident on an asset with the whole estate below it: the nearest few, and how many in all."""
    from incidents.suggestions import SUGGESTIONS_SHOWN
    from inventory.services import dependency_add
    from tests.factories import AssetFactory

    below = [AssetFactory.create(name=f"below-{i:02}") for i in range(SUGGESTIONS_SHOWN + 5)]
    for asset in below[:10]:
        dependency_add(upstream=fraud_model, downstream=asset, by=None)
    for upstream, asset in zip(below[:10], below[10:], strict=False):  # a second level below the first
        dependency_add(upstream=upstream, downstream=asset, by=None)
    for asset in below[20:]:
        dependency_add(upstream=below[19], downstream=asset, by=None)
    body = api(commander).get(base(incident)).json()
    assert body["suggested_assets"] == [a.name for a in below[:SUGGESTIONS_SHOWN]]
    assert body["suggested_total"] == SUGGESTIONS_SHOWN + 5 and body["suggested_complete"] is True
