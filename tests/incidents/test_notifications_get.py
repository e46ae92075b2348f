"""GET on an incident's notification address (a reload after recording a notice, a bookmark) answers sensibly.

It used to be a bare 405 with an empty body; now it leads to the notice register on the incident page,
for anyone who may read the incident, and stays a 404 for anyone who may not.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident() -> Incident:
    return IncidentFactory.create(title="Claims database down")


@pytest.mark.parametrize("role", ["commander", "viewer", "compliance"])
def test_get_leads_to_the_notice_register(incident: Incident, client_for: Any, role: str, request: Any) -> None:
    client = client_for(request.getfixturevalue(role))
    response = client.get(f"/incidents/{incident.public_id}/notifications/")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.public_id}/#notice-register"
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'id="notice-register"' in page.content.decode()


def test_get_of_an_unknown_incident_is_a_404(client_for: Any, viewer: Any) -> None:
    response = client_for(viewer).get("/incidents/00000000-0000-0000-0000-000000000000/notifications/")
    assert response.status_code == 404
