"""Adding and removing dependencies from the asset page, through HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dr_portal.audit.models import AuditEvent
from inventory.models import Dependency
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_an_admin_adds_an_upstream_and_a_downstream(client_for, admin) -> None:
    model, features, endpoint = (AssetFactory.create(name=n) for n in ("fraud-model", "fraud-features", "fraud-api"))
    client = client_for(admin, mfa=True)
    url = reverse("inventory:dependency-add", args=[model.public_id])
    response = client.post(url, {"direction": "upstream", "other": features.pk, "note": "reads features"})
    assert response.status_code == 302
    client.post(url, {"direction": "downstream", "other": endpoint.pk})
    edges = set(Dependency.objects.values_list("upstream__name", "downstream__name"))
    assert edges == {("fraud-features", "fraud-model"), ("fraud-model", "fraud-api")}
    assert AuditEvent.objects.filter(action="dependency.added").count() == 2
    page = client.get(reverse("inventory:asset", args=[model.public_id])).content.decode()
    assert "Add a dependency" in page and "reads features" in page


def test_a_cycle_is_refused_beside_the_field_naming_the_cycle(client_for, admin) -> None:
    a, b, c = (AssetFactory.create(name=n) for n in ("a", "b", "c"))
    Dependency.objects.create(upstream=a, downstream=b)
    Dependency.objects.create(upstream=b, downstream=c)
    client = client_for(admin, mfa=True)
    url = reverse("inventory:dependency-add", args=[a.public_id])
    # "a needs c" would close c → a → b → c.
    response = client.post(url, {"direction": "upstream", "other": c.pk})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_other_error"' in html
    assert "This would make a cycle: c → a → b → c." in html
    assert Dependency.objects.count() == 2

    htmx = client.post(url, {"direction": "upstream", "other": c.pk}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    body = htmx.content.decode()
    assert body.lstrip().startswith('<section class="card" id="dependencies">')
    assert "c → a → b → c" in body


def test_an_admin_removes_a_dependency_and_others_cannot(client_for, admin, commander) -> None:
    up, down = AssetFactory.create(name="features"), AssetFactory.create(name="model")
    edge = Dependency.objects.create(upstream=up, downstream=down)
    url = reverse("inventory:dependency-remove", args=[down.public_id, edge.pk])
    assert client_for(commander).post(url).status_code == 403
    elsewhere = AssetFactory.create(name="unrelated")
    other_url = reverse("inventory:dependency-remove", args=[elsewhere.public_id, edge.pk])
    assert client_for(admin, mfa=True).post(other_url).status_code == 404
    response = client_for(admin, mfa=True).post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "No dependencies recorded." in response.content.decode()
    assert not Dependency.objects.exists()
    removed = AuditEvent.objects.get(action="dependency.removed")
    assert removed.payload == {"upstream": "features", "downstream": "model"}


def test_people_without_manage_inventory_see_no_dependency_form(client_for, commander) -> None:
    asset = AssetFactory.create()
    page = client_for(commander).get(reverse("inventory:asset", args=[asset.public_id])).content.decode()
    assert "Add a dependency" not in page
    response = client_for(commander).post(reverse("inventory:dependency-add", args=[asset.public_id]), {})
    assert response.status_code == 403
