"""Bad connector values and oversized fields are refused by the form and the API, and fail a backup at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Asset, Backup, BackupStatus
from inventory.models.limits import CONFIG_BYTES_MAX, FALLBACK_MAX, LABEL_KEY_MAX, LABEL_VALUE_MAX, LABELS_MAX
from inventory.services import backup_execute, backup_request
from tests.factories import AssetFactory, RecoveryPolicyFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/inventory/assets/"
BASE: dict[str, Any] = {
    "name": "flags-db",
    "kind": "dataset",
    "owner_team": "risk",
    "tier": 1,
    "region": "eu-west-1",
    "source_uri": "/srv/flags",
    "policy": "gold",
}
PG = {"connector": "postgres", "connector_config": {"dbname": "features"}}


def _cfg(connector: str, **config: Any) -> dict[str, Any]:
    required = {"postgres": {"dbname": "f"}, "vector": {"uri": "/v", "model_name": "m"}}.get(connector, {})
    if connector == "mlflow":
        required = {"tracking_uri": "http://m:5000"}
    return {"connector": connector, "connector_config": {**required, **config}}


C = "connector_config"
BAD_API = [
    (_cfg("postgres", port=1e30), C, "port"),
    (_cfg("postgres", port=99999999999999999999), C, "port"),
    (_cfg("mlflow", timeout=-5), C, "timeout"),
    (_cfg("redis", db=99), C, "db"),
    (_cfg("redis", port=0), C, "port"),
    (_cfg("redis", drill_db=-5), C, "drill_db"),
    (_cfg("vector", golden_queries=-3), C, "golden_queries"),
    (_cfg("vector", dimension=-1), C, "dimension"),
    (_cfg("vector", top_k=99999999999), C, "top_k"),
    (_cfg("postgres", tables=[f"s.t{i}" for i in range(200_000)]), C, "KiB"),
    (_cfg("postgres", tables=[f"s.t{i}" for i in range(10_001)]), C, "tables"),
    ({"fallback": "x" * 1_000_000}, "fallback", str(FALLBACK_MAX)),
    ({"labels": {f"k{i}": "v" for i in range(5000)}}, "labels", str(LABELS_MAX)),
    ({"labels": {"k" * (LABEL_KEY_MAX + 1): "v"}}, "labels", "key"),
    ({"labels": {"k": "v" * (LABEL_VALUE_MAX + 1)}}, "labels", "value"),
]


@pytest.mark.parametrize(
    ("extra", "field", "said"), BAD_API, ids=[f"{f}-{s}-{i}" for i, (_, f, s) in enumerate(BAD_API)]
)
def test_the_api_refuses_with_a_400_naming_the_field(
    extra: dict[str, Any], field: str, said: str, client_for, admin
) -> None:
    RecoveryPolicyFactory.create(name="gold")
    client = client_for(admin, mfa=True)
    response = client.post(API, {**BASE, **extra}, content_type="application/json")
    assert response.status_code == 400, response.content[:500]
    fields = response.json()["error"]["fields"]
    assert field in fields and said in str(fields[field]), fields
    assert len(response.content) < 5000  # the refusal does not echo the oversized value
    assert not Asset.objects.exists()
    # The same bounds on a change.
    asset = AssetFactory.create(name="other")
    changed = client.patch(f"{API}{asset.public_id}/", extra, content_type="application/json")
    assert changed.status_code == 400 and field in changed.json()["error"]["fields"]


def test_the_api_accepts_fields_at_their_limits(client_for, admin) -> None:
    RecoveryPolicyFactory.create(name="gold")
    client = client_for(admin, mfa=True)
    extra = {
        "fallback": "x" * FALLBACK_MAX,
        "labels": {f"k{i}": "v" * LABEL_VALUE_MAX for i in range(LABELS_MAX)},
        **PG,
        "connector_config": {"dbname": "f", "port": 65535, "tables": [f"s.t{i}" for i in range(10_000)]},
    }
    response = client.post(API, {**BASE, **extra}, content_type="application/json")
    assert response.status_code == 201, response.content[:500]
    assert len(str(extra["connector_config"])) < CONFIG_BYTES_MAX


NEW = "/inventory/assets/new/"
FORM = {**BASE, "data_classes": ["none"], "environment": "production", "labels": ""}


def _form(connector: str, **config: str) -> dict[str, str]:
    return {"connector": connector, "config_kind": connector, **{f"config_{k}": v for k, v in config.items()}}


BAD_FORM = [
    (_form("postgres", dbname="f", port="100000000000000000000"), "port"),
    (_form("postgres", dbname="f", port="0"), "port"),
    (_form("mlflow", tracking_uri="http://m:5000", timeout="-5"), "timeout"),
    (_form("redis", db="99"), "db"),
    (_form("redis", drill_db="-5"), "drill_db"),
    (_form("vector", uri="/v", model_name="m", top_k="99999999999"), "top_k"),
    ({"fallback": "x" * (FALLBACK_MAX + 1)}, "fallback"),
]


@pytest.mark.parametrize(("extra", "field"), BAD_FORM, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_FORM)])
def test_the_asset_form_puts_the_bound_on_the_field(extra: dict[str, Any], field: str, client_for, admin) -> None:
    RecoveryPolicyFactory.create(name="gold")
    response = client_for(admin, mfa=True).post(NEW, {**FORM, **extra})
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_config_{field}_error"' in body or f'id="id_{field}_error"' in body, body[:3000]
    assert not Asset.objects.exists()


@pytest.mark.parametrize(
    ("connector", "config", "said"),
    [
        ("postgres", {"dbname": "f", "port": 10**20}, "port: give a whole number from 1 to 65535"),
        ("mlflow", {"tracking_uri": "http://127.0.0.1:5000", "timeout": -5}, "timeout: give a number from 0.1"),
        ("redis", {"db": 99}, "db: give a whole number from 0 to 15"),
    ],
)
def test_a_config_stored_before_the_bounds_fails_its_backup_at_once_saying_why(
    connector: str, config: dict[str, Any], said: str, keys: Path, fs_vault: Any
) -> None:
    asset = AssetFactory.create(name="legacy", vault=fs_vault, connector=connector)
    Asset.objects.filter(pk=asset.pk).update(connector_config=config)  # as stored before the check existed
    backup = backup_request(asset=asset, by=None)
    outcome = backup_execute(backup_id=backup.pk)
    done = Backup.objects.get(pk=backup.pk)
    assert "failed (connector_config_invalid)" in outcome
    assert done.status == BackupStatus.FAILED and done.error_code == "connector_config_invalid"
    assert said in done.error
    assert done.attempts == 1  # failed once, not retried until the reconciler gives up


def test_an_unexpected_error_in_a_connector_fails_the_backup_with_its_reason(
    keys: Path, fs_vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inventory.connectors.redis_kv import RedisConnector

    def broken(self: Any, staging: Any) -> Any:
        raise ValueError("Timeout value out of range")  # what a library raises for a value it cannot use

    monkeypatch.setattr(RedisConnector, "snapshot", broken)
    asset = AssetFactory.create(name="cache", vault=fs_vault, connector="redis", connector_config={"db": 3})
    backup = backup_request(asset=asset, by=None)
    assert "failed (connector_crashed)" in backup_execute(backup_id=backup.pk)
    done = Backup.objects.get(pk=backup.pk)
    assert done.status == BackupStatus.FAILED and done.error_code == "connector_crashed"
    assert "redis connector stopped on an unexpected error (ValueError: Timeout value out of range)" in done.error


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "estate.csv",
            "name,kind,owner_team,tier,region,source_uri,connector,connector_config\n"
            'cache,dataset,ml,1,eu-west-1,/srv/c,redis,"{""db"": 99}"\n',
        ),
        (
            "estate.yaml",
            "assets:\n- {name: cache, kind: dataset, owner_team: ml, tier: 1, region: eu-west-1,\n"
            "   source_uri: /srv/c, connector: postgres, connector_config: {dbname: f, port: 99999999999999999999}}\n",
        ),
    ],
)
def test_an_import_refuses_a_bad_connector_value_on_its_line(name: str, text: str, client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    response = client.post("/api/v1/inventory/import/", {"file": SimpleUploadedFile(name, text.encode())})
    assert response.status_code == 400, response.content[:500]
    said = response.json()["error"]["fields"]["file"][0]
    assert "connector_config" in said and ("db: give a whole number from 0 to 15" in said or "port:" in said), said
    assert not Asset.objects.exists()
