"""Alert intake over HTTP: Alertmanager webhook v4 and the generic JSON webhook."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from dr_portal.audit.models import AuditEvent
from incidents.models import AlertRecord, AlertStatus, InboxAlert, Incident

pytestmark = pytest.mark.django_db

TOKEN = "intake-token-for-tests-0123456789"
URL = "/api/v1/intake/alertmanager"


@pytest.fixture(autouse=True)
def intake_token(settings) -> None:
    settings.ALERT_INTAKE_TOKEN = TOKEN


def alert(fingerprint: str, *, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "FraudScoreErrors", "severity": "critical", **labels},
        "annotations": {"summary": "Fraud model returns errors"},
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "2026-03-02T10:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], group: str = '{}:{alertname="FraudScoreErrors"}') -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "dr-portal",
        "groupLabels": {"alertname": "FraudScoreErrors"},
        "commonLabels": {"alertname": "FraudScoreErrors"},
        "commonAnnotations": {"summary": "Fraud model returns errors"},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def post(body: Any, *, token: str = TOKEN, url: str = URL) -> Any:
    return Client().post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def timeline(incident: Incident) -> list[str]:
    rows = AuditEvent.objects.filter(incident_id=incident.public_id).order_by("seq")
    return list(rows.values_list("action", flat=True))


def test_firing_alert_matching_an_asset_opens_an_incident(fraud_model) -> None:
    response = post(payload(alert("fp1", service="fraud")))
    assert response.status_code == 201, response.content
    body = response.json()
    incident = Incident.objects.get(public_id=body["incident"])
    assert body["created"] is True and body["alerts"]["new"] == 1
    assert incident.severity == "SEV1"
    assert incident.severity_rule.startswith("Rule: alert label severity=critical → SEV1")
    assert incident.source == "alert" and incident.title == "Fraud model returns errors"
    assert list(incident.assets.all()) == [fraud_model]
    assert incident.started_at is not None and incident.started_at.isoformat().startswith("2026-03-02T09:00")
    assert timeline(incident) == ["incident.declared", "alert.firing"]


def test_a_repeated_alert_is_deduplicated(fraud_model) -> None:
    post(payload(alert("fp1", service="fraud")))
    again = post(payload(alert("fp1", service="fraud")))
    assert again.status_code == 200
    assert again.json()["alerts"] == {"new": 0, "repeated": 1, "resolved": 0, "inbox": 0, "ignored": 0}
    incident = Incident.objects.get()
    assert timeline(incident) == ["incident.declared", "alert.firing"]
    assert AlertRecord.objects.get().times_seen == 2


def test_a_new_alert_in_the_group_updates_the_open_incident(fraud_model, feature_store) -> None:
    post(payload(alert("fp1", service="fraud", severity="warning")))
    incident = Incident.objects.get()
    assert incident.severity == "SEV3"
    second = alert("fp2", service="features", severity="warning")
    response = post(payload(alert("fp1", service="fraud", severity="warning"), second))
    assert response.json()["alerts"]["new"] == 1 and response.json()["created"] is False
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert {a.name for a in incident.assets.all()} == {"fraud-model", "feature-store"}
    assert timeline(incident)[-2:] == ["alert.firing", "incident.assets_added"]


def test_a_more_severe_alert_raises_the_severity(fraud_model) -> None:
    post(payload(alert("fp1", service="fraud", severity="warning")))
    post(payload(alert("fp2", service="fraud", severity="critical")))
    incident = Incident.objects.get()
    assert incident.severity == "SEV1"
    assert "incident.severity_changed" in timeline(incident)


def test_a_known_fingerprint_from_another_group_joins_the_same_incident(fraud_model) -> None:
    post(payload(alert("fp1", service="fraud"), group="a"))
    post(payload(alert("fp1", service="fraud"), group="b"))
    assert Incident.objects.count() == 1


def test_resolved_alert_adds_a_timeline_entry(fraud_model) -> None:
    post(payload(alert("fp1", service="fraud")))
    response = post(payload(alert("fp1", status="resolved", service="fraud")))
    assert response.json()["alerts"]["resolved"] == 1
    incident = Incident.objects.get()
    assert timeline(incident)[-1] == "alert.resolved"
    assert AlertRecord.objects.get().status == AlertStatus.RESOLVED
    assert incident.status == "declared"  # a person decides when it is over


def test_alerts_matching_no_asset_open_nothing_and_wait_in_the_inbox(fraud_model) -> None:
    response = post(payload(alert("fp9", service="billing")))
    assert response.status_code == 200
    assert response.json() == {
        "incident": None,
        "reference": None,
        "created": False,
        "alerts": {"new": 0, "repeated": 0, "resolved": 0, "inbox": 1, "ignored": 0},
        "truncatedAlerts": 0,
        "reopened": False,
    }
    assert not Incident.objects.exists()
    assert InboxAlert.objects.get().fingerprint == "fp9"


def test_an_asset_label_names_the_asset_directly(fraud_model) -> None:
    post(payload(alert("fp1", asset="fraud-model")))
    assert list(Incident.objects.get().assets.all()) == [fraud_model]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.update(version="3"), "version: expected '4'"),
        (lambda p: p.pop("groupKey"), "groupKey: is required"),
        (lambda p: p.update(alerts=[]), "alerts: expected a non-empty list"),
        (lambda p: p["alerts"][0].update(status="burning"), "alerts[0].status: must be 'firing' or 'resolved'"),
        (lambda p: p["alerts"][0].update(labels={"service": 7}), "alerts[0].labels.service: expected a string"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda p: p["alerts"].append("nope"), "alerts[1]: expected an object"),
    ],
)
def test_invalid_payload_is_refused_with_the_reason_and_creates_nothing(fraud_model, mutate, reason) -> None:
    body = payload(alert("fp1", service="fraud"))
    bad = copy.deepcopy(body)
    mutate(bad)
    response = post(bad)
    assert response.status_code == 400
    assert reason in response.json()["error"]["detail"]
    assert not Incident.objects.exists()
    assert not AuditEvent.objects.exists()


def test_not_json_is_a_400(fraud_model) -> None:
    response = Client().post(URL, "{nope", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_wrong_or_missing_token_is_refused(fraud_model) -> None:
    body = payload(alert("fp1", service="fraud"))
    assert post(body, token="wrong-token-wrong-token-wrong").status_code == 401
    assert Client().post(URL, body, content_type="application/json").status_code == 401
    assert not Incident.objects.exists()


def test_a_person_api_token_is_not_an_intake_token(fraud_model, commander) -> None:
    from dr_portal.accounts.services import token_issue

    issued = token_issue(user=commander, name="mine", mfa_verified=False)
    assert post(payload(alert("fp1", service="fraud")), token=issued.raw).status_code == 401


def test_intake_is_off_without_a_configured_token(settings, fraud_model) -> None:
    settings.ALERT_INTAKE_TOKEN = None
    assert post(payload(alert("fp1", service="fraud"))).status_code == 503


def test_severity_mapping_is_configurable(settings, fraud_model) -> None:
    settings.ALERT_SEVERITY_LABEL = "priority"
    settings.ALERT_SEVERITY_MAP = {"p1": "SEV1", "p2": "SEV2"}
    post(payload(alert("fp1", service="fraud", priority="P2")))
    incident = Incident.objects.get()
    assert incident.severity == "SEV2"
    assert "priority=p2" in incident.severity_rule


def test_generic_webhook_opens_and_resolves(fraud_model) -> None:
    url = "/api/v1/intake/generic"
    body = {
        "dedupe_key": "drift-42",
        "title": "Score drift above 0.3",
        "labels": {"service": "fraud"},
        "severity": "high",
    }
    created = post(body, url=url)
    assert created.status_code == 201
    incident = Incident.objects.get()
    assert incident.severity == "SEV2" and incident.title == "Score drift above 0.3"
    assert post({**body, "status": "resolved"}, url=url).json()["alerts"]["resolved"] == 1
    assert timeline(incident)[-1] == "alert.resolved"
    bad = post({"title": "no key", "labels": {"service": "fraud"}}, url=url)
    assert bad.status_code == 400 and "dedupe_key" in bad.json()["error"]["detail"]


@pytest.mark.parametrize(
    "starts_at",
    [
        "yesterday at noon",  # not a time at all
        "2026-02-30T09:00:00Z",  # well-formed, but there is no 30 February
        "2026-03-02T09:00:00+25:00",  # an offset no zone has
        "9999-12-31T23:30:00-01:00",  # past the last representable moment once in UTC
    ],
)
def test_an_impossible_alert_time_is_a_400_naming_the_field(starts_at: str, fraud_model) -> None:
    body = payload(alert("fp-bad-time", asset="fraud-model") | {"startsAt": starts_at})
    before = AuditEvent.objects.count()
    response = post(body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload" and "alerts[0].startsAt" in error["detail"]
    assert AuditEvent.objects.count() == before and not Incident.objects.exists()


def test_a_group_larger_than_the_limit_is_accepted_and_counts_what_was_left_out(settings, fraud_model) -> None:
    # Alertmanager never retries a 400, so refusing a big group would lose it for good.
    limit = settings.ALERT_INTAKE_MAX_ALERTS
    alerts = [alert(f"fp{i}", service="fraud") for i in range(limit + 20)]
    body = payload(*alerts)
    body["truncatedAlerts"] = 5  # Alertmanager's own max_alerts already dropped these
    response = post(body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["alerts"]["new"] == limit
    assert answer["truncatedAlerts"] == 25
    incident = Incident.objects.get()
    assert AlertRecord.objects.filter(incident=incident).count() == limit
    truncated = AuditEvent.objects.get(incident_id=incident.public_id, action="alert.group_truncated")
    assert truncated.payload == {
        "source": "alertmanager",
        "kept": limit,
        "truncated": 25,
        "group_key": body["groupKey"],
    }


def test_a_big_group_keeps_its_firing_alerts_before_its_resolved_ones(settings, fraud_model) -> None:
    settings.ALERT_INTAKE_MAX_ALERTS = 3
    resolved = [alert(f"old{i}", status="resolved", service="fraud") for i in range(4)]
    response = post(payload(*resolved, alert("new", service="fraud")))
    assert response.status_code == 201, response.content
    assert response.json()["truncatedAlerts"] == 2
    assert AlertRecord.objects.get().fingerprint == "new"


@pytest.mark.parametrize("path", ["/api/v1/intake/alertmanager/", "/api/v1/intake/alertmanager"])
def test_alertmanager_intake_takes_the_url_with_or_without_a_trailing_slash(fraud_model, path) -> None:
    assert post(payload(alert("fp1", service="fraud")), url=path).status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/intake/generic/", "/api/v1/intake/generic"])
def test_generic_intake_takes_the_url_with_or_without_a_trailing_slash(fraud_model, path) -> None:
    body = {"dedupe_key": "k1", "title": "Fraud errors", "labels": {"service": "fraud"}}
    assert post(body, url=path).status_code == 201


def test_links_from_the_alert_are_stored_and_shown_on_the_incident(fraud_model, commander, client_for) -> None:
    firing = alert("fp1", service="fraud")
    firing["annotations"]["runbook_url"] = "https://runbooks.example.org/fraud-errors"
    firing["annotations"]["dashboard"] = "javascript:alert(1)"
    firing["generatorURL"] = "http://prometheus:9090/graph?g0.expr=fraud_errors"
    response = post(payload(firing))
    record = AlertRecord.objects.get()
    assert record.generator_url == "http://prometheus:9090/graph?g0.expr=fraud_errors"
    assert record.external_url == "http://alertmanager:9093"
    assert record.annotations["runbook_url"] == "https://runbooks.example.org/fraud-errors"
    page = client_for(commander).get(f"/incidents/{response.json()['incident']}/")
    html = page.content.decode()
    assert 'href="https://runbooks.example.org/fraud-errors"' in html
    assert 'href="http://prometheus:9090/graph?g0.expr=fraud_errors"' in html
    assert 'href="http://alertmanager:9093"' in html
    assert 'href="javascript:' not in html  # only http(s) annotations become links


def test_a_new_firing_alert_reopens_a_resolved_incident_and_notifies(settings, fraud_model, commander) -> None:
    from incidents.models import Delivery
    from incidents.services import incident_transition, role_assign

    settings.OUTBOUND_WEBHOOK_URLS = []
    post(payload(alert("fp1", service="fraud")))
    incident = Incident.objects.get()
    role_assign(incident=incident, role="commander", user=commander, by=commander)
    incident_transition(incident=incident, to="investigating", by=commander)
    incident_transition(incident=incident, to="resolved", by=commander)
    post(payload(alert("fp1", status="resolved", service="fraud")))

    response = post(payload(alert("fp1", service="fraud")))

    assert response.status_code == 200
    assert response.json()["reopened"] is True
    incident.refresh_from_db()
    assert incident.status == "investigating" and incident.resolved_at is None
    assert timeline(incident)[-2:] == ["incident.status_changed", "alert.refiring"]
    reopened = AuditEvent.objects.filter(incident_id=incident.public_id, action="incident.status_changed").last()
    assert reopened is not None and reopened.system_actor == "system:alerts"
    assert reopened.payload["from"] == "resolved" and reopened.payload["to"] == "investigating"
    assert "FraudScoreErrors" in reopened.payload["reason"]
    delivery = Delivery.objects.get(event="reopened")
    assert delivery.recipients == [commander.email]


def test_a_firing_alert_for_a_closed_incident_opens_a_new_one(fraud_model) -> None:
    post(payload(alert("fp1", service="fraud")))
    first = Incident.objects.get()
    Incident.objects.filter(pk=first.pk).update(status="closed", closed_at=first.declared_at)
    response = post(payload(alert("fp1", service="fraud")))
    assert response.status_code == 201
    assert Incident.objects.count() == 2
