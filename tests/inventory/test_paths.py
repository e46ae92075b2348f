"""Paths stay in their folders: regions are names, sources and vaults lie under their roots, system folders never."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from incidents.runs.targets import region_root
from inventory.models import Asset, BackupStatus, Vault
from inventory.paths import PathRefused
from inventory.porting import ImportFailed, import_file
from inventory.services.backups import backup_request
from inventory.services.catalog import asset_create, asset_update, vault_create
from inventory.tasks import backup_run

pytestmark = pytest.mark.django_db
BASE = {"name": "fraud", "kind": "model", "owner_team": "risk", "tier": 1, "region": "eu-west-1"}


@pytest.mark.parametrize("region", ["../../etc", "eu/../../x", "..", "a b", "/etc"])
def test_a_region_is_a_name_not_a_path(admin, region: str) -> None:
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**BASE, "source_uri": "/srv/x", "alternate_region": region})
    assert "alternate_region" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**BASE, "source_uri": "/srv/x", "region": region})
    assert "region" in caught.value.message_dict


def test_a_restore_refuses_a_region_that_names_a_path(settings, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    assert region_root("eu-central-1") == tmp_path / "regions" / "eu-central-1"
    with pytest.raises(PathRefused):
        region_root("../../outside")


@pytest.mark.parametrize("source", ["/proc/self/environ", "/sys/kernel", "/dev/sda", "/srv/data/../../etc/shadow"])
def test_system_folders_and_climbing_sources_are_refused(admin, source: str) -> None:
    with pytest.raises(ValidationError) as caught:
        asset_create(by=admin, fields={**BASE, "source_uri": source})
    assert "source_uri" in caught.value.message_dict


def test_an_update_is_checked_too(admin) -> None:
    asset = asset_create(by=admin, fields={**BASE, "source_uri": "/srv/x"})
    with pytest.raises(ValidationError):
        asset_update(asset=asset, by=admin, fields={"source_uri": "/proc/1/root"})


@pytest.mark.parametrize("path", ["../../etc", "vaults/../../../etc", "/etc/dr-vault"])
def test_a_vault_path_stays_under_var_or_the_vault_roots(admin, settings, tmp_path: Path, path: str) -> None:
    settings.VAULT_ROOTS = [tmp_path]
    with pytest.raises(ValidationError):
        vault_create(by=admin, fields={"name": "v", "kind": "filesystem", "region": "eu", "config": {"path": path}})
    assert vault_create(
        by=admin, fields={"name": "ok", "kind": "filesystem", "region": "eu", "config": {"path": str(tmp_path / "v")}}
    )


def test_the_yaml_import_refuses_a_vault_path_that_climbs(settings, tmp_path: Path) -> None:
    settings.VAULT_ROOTS = [tmp_path]
    text = "vaults:\n  - name: v1\n    kind: filesystem\n    region: eu\n    config: {path: ../../../etc}\n"
    with pytest.raises(ImportFailed, match="climbs out"):
        import_file(name="v.yaml", data=text.encode(), by=None)
    assert not Vault.objects.exists()


def test_a_worker_will_not_back_up_a_source_outside_the_roots(
    backed_asset: Asset, settings, tmp_path: Path, source: Path
) -> None:
    settings.SOURCE_ROOTS = [tmp_path / "elsewhere"]
    backup = backup_request(asset=backed_asset, by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.status == BackupStatus.FAILED and "outside the allowed folders" in backup.error


def test_a_link_inside_the_roots_to_a_folder_outside_is_refused(
    backed_asset: Asset, settings, tmp_path: Path, source: Path
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "link").symlink_to(source)
    settings.SOURCE_ROOTS = [allowed]
    Asset.objects.filter(pk=backed_asset.pk).update(source_uri=str(allowed / "link"))
    backup = backup_request(asset=Asset.objects.get(pk=backed_asset.pk), by=None)
    backup_run(backup.pk)
    backup.refresh_from_db()
    assert backup.status == BackupStatus.FAILED and "outside the allowed folders" in backup.error
