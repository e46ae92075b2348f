"""Item 5: declare from the asset page or a readiness breach, prefilled; filterable assets; eligible people only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_asset_page_offers_declare_to_responders_only(client_for, oncall, viewer) -> None:
    asset = AssetFactory.create(name="fraud-model")
    url = reverse("inventory:asset", args=[asset.public_id])
    assert f"/incidents/declare/?asset={asset.public_id}" in client_for(oncall).get(url).content.decode()
    assert "Declare incident" not in client_for(viewer).get(url).content.decode()


def test_declare_form_is_prefilled_from_the_asset_and_reason(client_for, oncall) -> None:
    asset = AssetFactory.create(name="fraud-model")
    html = (
        client_for(oncall)
        .get(reverse("incidents:declare"), {"asset": str(asset.public_id), "reason": "No good backup exists."})
        .content.decode()
    )
    assert 'value="fraud-model: No good backup exists."' in html
    assert f'<option value="{asset.public_id}" selected>' in html or f'value="{asset.pk}" selected' in html
    assert 'data-filter-select="id_assets"' in html, "the asset list can be searched"


def test_readiness_breach_row_links_to_a_prefilled_declaration(client_for, commander) -> None:
    asset = AssetFactory.create(name="fraud-model")  # no backups: in breach
    from inventory.services.readiness import readiness_refresh

    readiness_refresh(asset_ids=[asset.pk])
    html = client_for(commander).get(reverse("inventory:readiness")).content.decode()
    assert "/incidents/declare/?asset=" in html and "&amp;reason=" in html


def test_role_picker_lists_only_people_who_may_hold_a_role(client_for, commander, compliance, viewer, sev1) -> None:
    html = client_for(commander).get(reverse("incidents:detail", args=[sev1.public_id])).content.decode()
    picker = html[html.index('id="role-person"') : html.index("</select>", html.index('id="role-person"'))]
    assert viewer.get_full_name() not in picker, "a viewer can hold no incident role"
    held = re.findall(r'data-roles="([^"]*)"[^>]*>' + re.escape(compliance.get_full_name()), picker)
    assert held and "compliance_liaison" in held[0].split() and "commander" not in held[0].split(), held
