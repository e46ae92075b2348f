"""Each row of the Audit page says what happened in a line, names its object as people do, and costs no query.

Every row's Details said only "payload", the object was a UUID cut at 20 characters, and a reader had
to open each payload to learn anything. The log holds a million events at scale (bench #12): the
names are read per page, one query per kind of object, never one per row.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.services import audit_append
from tests.factories import AssetFactory, IncidentFactory, RecoveryRunFactory

pytestmark = pytest.mark.django_db


def _events(copies: int, name: str = "nas-exports") -> dict[str, Any]:
    asset = AssetFactory.create(name=name)
    run = RecoveryRunFactory.create()
    incident = IncidentFactory.create()
    for _ in range(copies):
        audit_append(
            action="backup.failed",
            system_actor="system:worker",
            obj=asset,
            payload={"error": "No space left on the device.", "attempt": 2, "stats": {"files": 3}},
        )
        audit_append(action="run.started", system_actor="system:worker", obj=run, incident_id=incident.public_id)
        audit_append(action="incident.declared", system_actor="system:test", obj=incident, payload={"sev": "SEV2"})
    return {"asset": asset, "run": run, "incident": incident}


def test_a_row_says_what_happened_and_names_its_object(client_for, compliance) -> None:
    made = _events(1)
    page = client_for(compliance).get("/audit/").content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Backup failed — error: No space left on the device; attempt: 2" in rows
    assert "Run started" in rows and "Incident declared — sev: SEV2" in rows
    asset, run, incident = made["asset"], made["run"], made["incident"]
    assert (
        f'<a href="/inventory/assets/{asset.public_id}/" title="inventory.asset {asset.public_id}">nas-exports</a>'
        in rows
    )
    assert f'<a href="/runs/{run.public_id}/" title="runs.recoveryrun {run.public_id}">RUN-{run.pk}</a>' in rows
    assert f">INC-{incident.pk}</a>" in rows
    assert '<summary class="small">Full payload</summary>' in rows, "the whole payload is still one click away"
    assert "&quot;files&quot;: 3" in rows


def test_an_object_no_app_names_keeps_its_id(client_for, compliance) -> None:
    audit_append(action="token.issued", system_actor="system:test", object_type="accounts.apitoken", object_id="x7")
    rows = client_for(compliance).get("/audit/").content.decode().split("<tbody>")[1]
    assert '<span class="small">accounts.apitoken</span> <code class="small" title="x7">x7</code>' in rows


def test_the_names_cost_the_same_queries_for_three_rows_as_for_thirty(client_for, compliance) -> None:
    client = client_for(compliance)
    _events(1)
    client.get("/audit/")  # the session's first reads are not the page's
    with CaptureQueriesContext(connection) as few:
        assert client.get("/audit/").status_code == 200
    _events(10, name="features")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/audit/").content.decode()
    assert page.split("<tbody>")[1].count("<tr>") == AuditEvent.objects.count() > 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
