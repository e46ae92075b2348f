"""The asset page links its run behaviour page (traffic driver, golden sets) for those who may edit it."""

from __future__ import annotations

from django.urls import reverse

from tests.factories import AssetFactory


def test_editors_see_the_run_behaviour_link_and_it_opens(client_for, admin) -> None:
    asset = AssetFactory.create(name="fraud-model")
    client = client_for(admin, mfa=True)
    page = client.get(reverse("inventory:asset", args=[asset.public_id])).content.decode()
    behaviour = reverse("runs:asset-behaviour", args=[asset.public_id])
    assert f'href="{behaviour}"' in page and "Run behaviour" in page
    assert client.get(behaviour).status_code == 200


def test_people_who_may_not_edit_do_not_see_it(client_for, viewer, commander) -> None:
    asset = AssetFactory.create(name="fraud-model")
    behaviour = reverse("runs:asset-behaviour", args=[asset.public_id])
    for person in (viewer, commander):
        page = client_for(person).get(reverse("inventory:asset", args=[asset.public_id])).content.decode()
        assert behaviour not in page
