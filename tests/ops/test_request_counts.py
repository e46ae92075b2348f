"""HTTP requests and alert intake outcomes at /metrics (#11 item 15), read with Prometheus' own parser.

The counts are kept per process and summed by the scrape (dr_portal/ops/counters.py);
tests/ops/test_request_counts_gunicorn.py checks the sum with a real two-worker server.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

TOKEN = "intake-token-for-tests-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(settings: Any) -> Samples:
    settings.METRICS_TOKEN = "scrape-secret"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    return samples(response.content.decode())


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_requests_are_counted_by_route_name_status_and_method(client_for, viewer, settings) -> None:
    first, second = IncidentFactory.create(), IncidentFactory.create()
    client = client_for(viewer)
    before = scrape(settings)
    for incident in (first, second):
        assert client.get(f"/api/v1/incidents/{incident.public_id}/").status_code == 200
    assert client.post(f"/api/v1/incidents/{first.public_id}/", {}).status_code in (403, 405)
    assert client.get("/no/such/page/").status_code == 404
    after = scrape(settings)

    # Two incidents, one series: the route is the URL's name, never the path with its id.
    detail = {"method": "GET", "route": "api:incident-detail", "status": "200"}
    assert delta(before, after, "drp_http_requests_total", **detail) == 2
    assert not any(str(first.public_id) in value for _, labels in after for _, value in labels)
    assert delta(before, after, "drp_http_requests_total", method="GET", route="unmatched", status="404") == 1
    refused = [k for k in after if k[0] == "drp_http_requests_total" and ("method", "POST") in k[1]]
    assert any(delta(before, after, "drp_http_requests_total", **dict(k[1])) == 1 for k in refused)
    latency = {"method": "GET", "route": "api:incident-detail"}
    assert delta(before, after, "drp_http_request_duration_seconds_count", **latency) == 2
    assert delta(before, after, "drp_http_request_duration_seconds_bucket", le="+Inf", **latency) == 2
    assert delta(before, after, "drp_http_request_duration_seconds_sum", **latency) > 0


def test_unknown_methods_share_one_label(client_for, viewer, settings) -> None:
    before = scrape(settings)
    Client().generic("BREW", "/healthz")
    after = scrape(settings)
    assert delta(before, after, "drp_http_requests_total", method="OTHER", route="healthz", status="405") == 1


def test_alert_intake_outcomes(settings) -> None:
    settings.ALERT_INTAKE_TOKEN = TOKEN

    def post(body: Any, token: str = TOKEN) -> int:
        return (
            Client()
            .post(
                "/api/v1/intake/generic/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            .status_code
        )

    before = scrape(settings)
    firing = {"dedupe_key": "k1", "title": "Disk filling", "labels": {"service": "unknown-thing"}}
    assert post(firing) == 200  # nothing named: kept in the inbox, accepted
    assert post({**firing, "dedupe_key": "k2", "status": "resolved"}) == 200  # never seen firing: ignored
    assert post({"dedupe_key": "k3"}) == 400  # no title, no labels
    assert post(firing, token="wrong-token-of-enough-length") == 401
    after = scrape(settings)
    for outcome, number in (("accepted", 1), ("ignored", 1), ("rejected", 2)):
        assert delta(before, after, "drp_alerts_received_total", source="generic", outcome=outcome) == number, outcome
