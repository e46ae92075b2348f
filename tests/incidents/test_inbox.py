"""The alert inbox: no alert is dropped; commanders attach, declare or map the ones no asset claimed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dr_portal.audit.models import AuditEvent
from incidents.models import AlertMapping, AlertRecord, InboxAlert, InboxState, Incident
from inventory.models import Asset
from tests.incidents.test_intake import TOKEN, alert, payload, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def intake_token(settings) -> None:
    settings.ALERT_INTAKE_TOKEN = TOKEN


def billing_alert(**more: Any) -> dict[str, Any]:
    return payload(alert("fp-billing", service="billing", team="payments", **more), group="{}:billing")


def api(client: Client, method: str, url: str, body: Any = None) -> Any:
    return (
        getattr(client, method)(url, body, content_type="application/json")
        if body is not None
        else getattr(client, method)(url)
    )


def test_an_alert_naming_no_asset_is_kept_in_the_inbox(fraud_model) -> None:
    response = post(billing_alert())
    assert response.status_code == 200
    assert response.json()["alerts"]["inbox"] == 1 and response.json()["alerts"]["ignored"] == 0
    kept = InboxAlert.objects.get()
    assert kept.state == InboxState.OPEN and kept.labels["service"] == "billing"
    assert kept.external_url == "http://alertmanager:9093"
    assert AuditEvent.objects.filter(action="alert.inboxed", object_id=str(kept.public_id)).count() == 1
    post(billing_alert())  # Alertmanager repeats it: counted, not duplicated
    kept.refresh_from_db()
    assert InboxAlert.objects.count() == 1 and kept.times_seen == 2
    post(payload(alert("fp-billing", status="resolved", service="billing"), group="{}:billing"))
    kept.refresh_from_db()
    assert kept.status == "resolved" and kept.state == InboxState.OPEN
    assert not Incident.objects.exists()


def test_the_portals_own_alert_opens_an_incident_on_the_portal_asset(settings, fraud_model) -> None:
    assert not Asset.objects.filter(name=settings.PORTAL_ASSET_NAME).exists()
    stale = alert("fp-heartbeat", service="dr-portal")
    stale["labels"]["alertname"] = "WorkerHeartbeatStale"
    response = post(payload(stale, group="{}:heartbeat"))
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(public_id=response.json()["incident"])
    portal = Asset.objects.get(name=settings.PORTAL_ASSET_NAME)
    assert list(incident.assets.all()) == [portal]
    created = AuditEvent.objects.get(action="asset.created", object_id=str(portal.public_id))
    assert created.system_actor == "system:alerts"
    assert not InboxAlert.objects.exists()


def test_a_commander_attaches_an_inbox_alert_to_an_incident_from_the_page(
    fraud_model, incident, commander, client_for
) -> None:
    post(billing_alert())
    kept = InboxAlert.objects.get()
    client = client_for(commander)
    page = client.get("/incidents/inbox/").content.decode()
    assert "fp-billing" in page or "FraudScoreErrors" in page
    assert 'href="/incidents/inbox/"' in page  # in the navigation
    response = client.post(f"/incidents/inbox/{kept.public_id}/attach/", {"incident": str(incident.public_id)})
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.public_id}/"
    kept.refresh_from_db()
    assert kept.state == InboxState.ATTACHED and kept.incident == incident and kept.handled_by == commander
    record = AlertRecord.objects.get(incident=incident)
    assert record.fingerprint == "fp-billing" and record.external_url == "http://alertmanager:9093"
    attached = AuditEvent.objects.get(incident_id=incident.public_id, action="alert.attached")
    assert attached.actor_id == commander.pk
    again = client.post(f"/incidents/inbox/{kept.public_id}/attach/", {"incident": str(incident.public_id)})
    assert again.status_code == 302 and again["Location"] == "/incidents/inbox/"  # already handled: refused


def test_only_commanders_see_or_handle_the_inbox(fraud_model, incident, oncall, viewer, client_for) -> None:
    post(billing_alert())
    kept = InboxAlert.objects.get()
    for person in (oncall, viewer):
        client = client_for(person)
        assert 'href="/incidents/inbox/"' not in client.get("/incidents/").content.decode()
        assert client.get("/incidents/inbox/").status_code == 403
        assert client.post(f"/incidents/inbox/{kept.public_id}/declare/").status_code == 403
        assert client.get("/api/v1/alerts/inbox/").status_code == 404
    kept.refresh_from_db()
    assert kept.state == InboxState.OPEN and Incident.objects.count() == 1


def test_declaring_an_incident_from_an_inbox_alert_through_the_api(fraud_model, commander, client_for) -> None:
    post(billing_alert())
    client = client_for(commander)
    listed = client.get("/api/v1/alerts/inbox/").json()
    assert listed["count"] == 1
    alert_id = listed["results"][0]["id"]
    response = client.post(f"/api/v1/alerts/inbox/{alert_id}/declare/")
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(public_id=response.json()["id"])
    assert incident.severity == "SEV1" and incident.source == "alert"
    assert incident.title == "Fraud model returns errors"
    assert AlertRecord.objects.get(incident=incident).fingerprint == "fp-billing"
    assert client.get(f"/api/v1/alerts/inbox/{alert_id}/").json()["state"] == "attached"
    assert client.get("/api/v1/alerts/inbox/").json()["count"] == 0
    twice = client.post(f"/api/v1/alerts/inbox/{alert_id}/declare/")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "inbox_refused"


def test_mapping_labels_sends_the_next_alert_to_the_asset(fraud_model, feature_store, commander, client_for) -> None:
    post(billing_alert())
    kept = InboxAlert.objects.get()
    client = client_for(commander)
    bad = api(
        client, "post", f"/api/v1/alerts/inbox/{kept.public_id}/map/", {"asset": "feature-store", "labels": ["nope"]}
    )
    assert bad.status_code == 409 and "no label 'nope'" in bad.json()["error"]["detail"]
    response = api(
        client,
        "post",
        f"/api/v1/alerts/inbox/{kept.public_id}/map/",
        {"asset": "feature-store", "labels": ["service", "team"]},
    )
    assert response.status_code == 201, response.content
    assert AlertMapping.objects.get().labels == {"service": "billing", "team": "payments"}
    assert AuditEvent.objects.filter(action="alert.mapped").count() == 1
    kept.refresh_from_db()
    assert kept.state == InboxState.MAPPED

    opened = post(payload(alert("fp-billing-2", service="billing", team="payments"), group="{}:billing-2"))

    assert opened.status_code == 201
    assert list(Incident.objects.get(public_id=opened.json()["incident"]).assets.all()) == [feature_store]


def test_attaching_to_a_closed_incident_is_refused(fraud_model, incident, commander, client_for) -> None:
    post(billing_alert())
    kept = InboxAlert.objects.get()
    Incident.objects.filter(pk=incident.pk).update(status="closed", closed_at=incident.declared_at)
    response = api(
        client_for(commander),
        "post",
        f"/api/v1/alerts/inbox/{kept.public_id}/attach/",
        {"incident": str(incident.public_id)},
    )
    assert response.status_code == 409 and "is closed" in response.json()["error"]["detail"]
    kept.refresh_from_db()
    assert kept.state == InboxState.OPEN


def test_a_portal_alert_waits_in_the_inbox_when_the_portal_asset_cannot_be_registered(settings, fraud_model) -> None:
    settings.PORTAL_ASSET_REGION = ""  # the inventory refuses an asset without a region
    response = post(payload(alert("fp-heartbeat", service="dr-portal"), group="{}:heartbeat"))
    assert response.status_code == 200, response.content
    assert response.json()["alerts"]["inbox"] == 1
    assert InboxAlert.objects.get().fingerprint == "fp-heartbeat"
