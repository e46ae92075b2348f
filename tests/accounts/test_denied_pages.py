"""A refused page is the product's own, with DEBUG on as under `make run`.

A commander opening /inventory/discover/ got Django's DEBUG 404 page listing every URL pattern of the
project (649 px wide on a phone). A role that lacks the right now gets a 403 page that names the roles
that have it; an object that is missing or not theirs to see gets the product's 404 page.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_a_role_without_the_right_gets_a_403_naming_the_role_needed(client_for, commander, settings, debug) -> None:
    settings.DEBUG = debug
    response = client_for(commander).get("/inventory/discover/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is not for your role" in page
    assert "It needs the role <strong>Admin</strong>; you are signed in as <strong>Incident commander</strong>" in page
    assert "URLconf" not in page and "urlpatterns" not in page


def test_a_page_several_roles_may_use_names_them_all(client_for, viewer, settings) -> None:
    settings.DEBUG = True
    response = client_for(viewer).get("/audit/")
    assert response.status_code == 403
    assert "It needs the roles <strong>Admin, Compliance officer</strong>" in response.content.decode()


def test_a_missing_object_gets_the_products_404_with_debug_on(client_for, viewer, settings) -> None:
    settings.DEBUG = True
    response = client_for(viewer).get(f"/inventory/assets/{uuid.uuid4()}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page and "URLconf" not in page and "Traceback" not in page


def test_the_api_still_answers_a_denied_role_with_its_json_404(client_for, commander) -> None:
    response = client_for(commander).get("/api/v1/audit/events/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
