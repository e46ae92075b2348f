"""The Audit page, its exports, the API and the admin site, through HTTP."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent, AuditVerification
from dr_portal.audit.services import audit_append
from dr_portal.audit.verify import verify_and_record
from tests.audit.conftest import raw, triggers_disabled

pytestmark = pytest.mark.django_db

INCIDENT = uuid.UUID("6d1f3c3e-8a43-4a5e-9f3c-0c8a5d8b7a11")


@pytest.fixture
def story(admin: User, oncall: User) -> None:
    start = timezone.now() - timedelta(days=2)
    with time_machine.travel(start, tick=False):
        audit_append(action="incident.declared", actor=admin, incident_id=INCIDENT, payload={"title": "GPU pool down"})
    with time_machine.travel(start + timedelta(days=1), tick=False):
        audit_append(action="step.approved", actor=oncall, incident_id=INCIDENT, payload={"step": 3})
        audit_append(action="backup.completed", system_actor="system:worker", payload={"bytes": 1024})
    audit_append(action="session.signed_in", actor=oncall, payload={"ip": "203.0.113.5"})


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def seqs(response) -> list[int]:
    return [e.seq for e in response.context["events"]]


@pytest.mark.parametrize("persona", ["commander", "oncall", "viewer"])
def test_only_compliance_and_admins_see_the_audit_page(
    persona: str, request: pytest.FixtureRequest, client_for: Callable[..., Client]
) -> None:
    client = client_for(request.getfixturevalue(persona))
    for url in ["/audit/", "/audit/export.csv", "/audit/export.jsonl"]:
        assert client.get(url).status_code == 403, url  # the page that names the roles that may
    assert client.get("/api/v1/audit/events/").status_code == 404


def test_admin_needs_a_second_factor(admin: User, client_for: Callable[..., Client]) -> None:
    response = client_for(admin).get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/mfa/")
    assert client_for(admin, mfa=True).get("/audit/").status_code == 200


def test_compliance_officer_sees_newest_first_with_names(
    story: None, compliance: User, client_for: Callable[..., Client]
) -> None:
    response = client_for(compliance).get("/audit/")  # signing in is event 5
    assert response.status_code == 200
    assert seqs(response) == [5, 4, 3, 2, 1]
    body = response.content.decode()
    assert "incident.declared" in body and "system:worker" in body and "oli" in body
    assert "Not verified yet" in body
    assert "Erase personal data" not in body  # admins only


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=oli", [4, 2]),
        ("actor=system:worker", [3]),
        ("action=step.approved", [2]),
        ("action=session.", [5, 4]),  # 5: the compliance officer signing in
        ("object_type=accounts.user", [5]),
        (f"incident={INCIDENT}", [2, 1]),
        ("incident=not-a-uuid", []),
    ],
)
def test_filters(
    story: None, compliance: User, client_for: Callable[..., Client], query: str, expected: list[int]
) -> None:
    assert seqs(client_for(compliance).get(f"/audit/?{query}")) == expected


def test_time_range_filter(story: None, compliance: User, client_for: Callable[..., Client]) -> None:
    since = (timezone.now() - timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M")
    until = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert seqs(client_for(compliance).get(f"/audit/?since={since}&until={until}")) == [3, 2]


def test_pages_by_seq_with_filters_kept(compliance: User, client_for: Callable[..., Client]) -> None:
    for n in range(120):
        audit_append(action="thing.odd" if n % 2 else "thing.even", system_actor="system:test", payload={"n": n})
    client = client_for(compliance)
    first = client.get("/audit/?action=thing.even")
    assert seqs(first) == list(range(119, 19, -2))
    assert first.context["newer"] is None
    older = first.context["older"]
    second = client.get(f"/audit/?action=thing.even&before={older}")
    assert seqs(second) == list(range(19, 0, -2))
    assert second.context["older"] is None
    back = client.get(f"/audit/?action=thing.even&after={second.context['newer']}")
    assert seqs(back) == seqs(first)


def test_page_runs_a_constant_number_of_queries(
    compliance: User, client_for: Callable[..., Client], django_assert_max_num_queries
) -> None:
    client = client_for(compliance)
    for n in range(60):
        audit_append(action="thing.done", actor=compliance, payload={"n": n, "ip": "192.0.2.1"})
    with django_assert_max_num_queries(10):  # the newest verification and the head of the log read once each
        client.get("/audit/")


def test_htmx_request_gets_only_the_results(story: None, compliance: User, client_for: Callable[..., Client]) -> None:
    response = client_for(compliance).get("/audit/?actor=oli", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="results">')
    assert "<html" not in body


def test_csv_export_streams_the_filtered_set_and_is_itself_audited(
    story: None, compliance: User, client_for: Callable[..., Client]
) -> None:
    response = client_for(compliance).get(f"/audit/export.csv?incident={INCIDENT}")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [r["seq"] for r in rows] == ["1", "2"]
    assert rows[1]["actor"] == "oli" and json.loads(rows[1]["payload"]) == {"step": 3}
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_label == "cora"
    assert exported.payload == {"format": "csv", "filters": {"incident": str(INCIDENT)}}


def test_csv_export_defuses_spreadsheet_formulas(compliance: User, client_for: Callable[..., Client]) -> None:
    audit_append(action="thing.done", system_actor="system:test", object_id="=HYPERLINK(1)")
    response = client_for(compliance).get("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert rows[0]["object_id"] == "'=HYPERLINK(1)"


def test_jsonl_export(story: None, compliance: User, client_for: Callable[..., Client]) -> None:
    response = client_for(compliance).get("/audit/export.jsonl?actor=oli")
    lines = [json.loads(line) for line in streamed(response).splitlines()]
    assert [line["seq"] for line in lines] == [2, 4]
    assert lines[1]["payload"] == {"ip": "203.0.113.5"}
    assert response["Content-Type"] == "application/x-ndjson"


def test_banner_is_green_when_intact_and_red_when_broken(
    story: None, compliance: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(compliance)
    verify_and_record(source="test")
    assert "Chain intact." in client.get("/audit/").content.decode()
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'step.rejected' WHERE seq = 2")
    verify_and_record(source="test")
    body = client.get("/audit/").content.decode()
    assert "Chain broken at #2." in body
    assert 'class="alert alert-error"' in body
    assert AuditVerification.objects.count() == 2


def test_public_key_is_public(client: Client) -> None:
    response = client.get("/audit/pubkey")
    assert response.status_code == 200
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert len(response["X-Audit-Key-Id"]) == 16


def test_checkpoint_download(compliance: User, viewer: User, client_for: Callable[..., Client]) -> None:
    from dr_portal.audit.checkpoints import checkpoint_now

    audit_append(action="thing.done", system_actor="system:test")
    checkpoint_now()
    assert client_for(compliance).get("/audit/checkpoints/1.txt").content.startswith(b"DR Portal audit checkpoint v1")
    assert client_for(compliance).get("/audit/checkpoints/2.txt").status_code == 404
    assert client_for(viewer).get("/audit/checkpoints/1.txt").status_code == 403


def test_admin_erases_a_person_and_the_chain_still_verifies(
    story: None, admin: User, oncall: User, compliance: User, client_for: Callable[..., Client]
) -> None:
    assert client_for(compliance).post("/audit/erase", {"username": "oli", "reason": "x"}).status_code == 403
    client = client_for(admin, mfa=True)
    response = client.post("/audit/erase", {"username": "oli", "reason": "DSAR 2026-17"}, follow=True)
    assert "Erased the personal data of 2 event(s)" in response.content.decode()
    erased = AuditEvent.objects.select_related("personal").get(seq=4)
    assert erased.actor_label == "[erased]" and erased.payload == {}
    record = AuditEvent.objects.get(action="audit.personal_data_erased")
    assert record.actor_label == "ada" and record.object_id == str(oncall.public_id)
    verify_and_record(source="test")
    assert AuditVerification.objects.get().ok


def test_api_lists_filters_and_retrieves_but_never_writes(
    story: None, compliance: User, client_for: Callable[..., Client]
) -> None:
    client = client_for(compliance)
    listing = client.get("/api/v1/audit/events/?actor=oli").json()
    assert [e["seq"] for e in listing["results"]] == [4, 2]
    one = client.get("/api/v1/audit/events/2/").json()
    assert one["action"] == "step.approved" and one["actor"] == "oli" and one["payload"] == {"step": 3}
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/audit/events/2/", data={}, content_type="application/json")
        assert response.status_code == 405, method
    assert client.post("/api/v1/audit/events/", data={}, content_type="application/json").status_code == 405
    assert AuditEvent.objects.filter(seq=2, action="step.approved").exists()
    # An incident nobody can name is no bad request through the API: it matches no event (the page says why).
    for incident in ("errors", "INC-999"):
        response = client.get(f"/api/v1/audit/events/?incident={incident}")
        assert response.status_code == 200 and response.json()["results"] == [], incident


def test_admin_site_is_read_only(story: None, admin: User, client_for: Callable[..., Client]) -> None:
    client = client_for(admin, mfa=True)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    detail = client.get("/admin/audit/auditevent/2/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post("/admin/audit/auditevent/2/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/audit/auditevent/2/change/", {"action": "x.y"}).status_code == 403
    assert AuditEvent.objects.get(seq=2).action == "step.approved"
