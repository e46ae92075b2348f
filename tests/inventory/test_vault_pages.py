"""Creating and editing vaults on their admin page, through HTTP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dr_portal.audit.models import AuditEvent
from inventory.models import Vault
from tests.factories import VaultFactory

pytestmark = pytest.mark.django_db


def test_an_admin_creates_an_s3_vault(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    response = client.post(
        reverse("inventory:vault-new"),
        {
            "name": "dr-eu",
            "kind": "s3",
            "region": "eu-central-1",
            "worm_capable": "on",
            "config": '{"bucket": "drp-eu", "prefix": "points/"}',
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("inventory:vaults")
    vault = Vault.objects.get(name="dr-eu")
    assert vault.worm_capable and vault.config == {"bucket": "drp-eu", "prefix": "points/"}
    assert AuditEvent.objects.get(action="vault.created").payload["name"] == "dr-eu"
    assert "dr-eu" in client.get(reverse("inventory:vaults")).content.decode()


def test_a_secret_in_the_config_is_refused_beside_the_field(client_for, admin) -> None:
    response = client_for(admin, mfa=True).post(
        reverse("inventory:vault-new"),
        {"name": "leaky", "kind": "s3", "region": "eu-west-1", "config": '{"bucket": "b", "secret_access_key": "x"}'},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_config_error"' in html and "come from the environment" in html
    assert not Vault.objects.filter(name="leaky").exists()


def test_an_admin_edits_a_vault_and_the_change_is_audited(client_for, admin) -> None:
    vault = VaultFactory.create(name="nas", region="eu-west-1", config={"path": "vaults/nas"})
    url = reverse("inventory:vault-edit", args=[vault.public_id])
    client = client_for(admin, mfa=True)
    assert 'value="nas"' in client.get(url).content.decode()
    response = client.post(
        url, {"name": "nas", "kind": "filesystem", "region": "eu-west-2", "config": '{"path": "vaults/nas"}'}
    )
    assert response.status_code == 302
    vault.refresh_from_db()
    assert vault.region == "eu-west-2"
    assert AuditEvent.objects.get(action="vault.updated").payload["region"] == ["eu-west-1", "eu-west-2"]
