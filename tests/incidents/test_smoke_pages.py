from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_pages_render(client_for, commander, incident) -> None:
    client = client_for(commander)
    for url in [
        "/",
        "/incidents/",
        f"/incidents/{incident.public_id}/",
        "/incidents/declare/",
        "/drills/",
        f"/incidents/{incident.public_id}/facts/",
        f"/incidents/{incident.public_id}/review/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    poll = client.get(f"/incidents/{incident.public_id}/timeline/?after=0", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    assert "hx-swap-oob" in poll.content.decode()
