"""Secrets stay out of addresses, and a file: secret is read only from the folders set aside for them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from dr_portal.accounts.contents import words_and_detail
from inventory.connectors import ConfigInvalid, SecretRef, SecretUnavailable, get_connector
from inventory.engine.vaults.s3_client import parse_s3_uri
from inventory.models import Asset
from inventory.paths import source_validate
from inventory.porting import ImportFailed, import_file
from inventory.services.catalog import vault_create
from inventory.vault_io.backup import _backup_source
from inventory.vault_io.common import VaultIOFailure
from tests.factories import AssetFactory

API = "/api/v1/inventory"
MLFLOW_WITH_PASSWORD = "http://admin:hunter2@127.0.0.1:60503"
S3_WITH_KEYS = "s3://AKIAEXAMPLE:secretkey@bucket/prefix"


class _Listener(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server that records every Authorization header it is sent (port from sec's range)."""
    seen: list[str] = []
    handler = type("Recorder", (_Listener,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 8111), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:8111", seen
    finally:
        server.shutdown()
        server.server_close()


# --- user:password@ in an address --------------------------------------------------------


def test_a_tracking_uri_with_a_password_is_refused_without_echoing_it() -> None:
    for config in (
        {"tracking_uri": MLFLOW_WITH_PASSWORD},
        {"tracking_uri": "http://127.0.0.1:5000", "drill_tracking_uri": "https://u:hunter2@scratch:5000"},
    ):
        with pytest.raises(ConfigInvalid) as caught:
            get_connector("mlflow", config)
        message = str(caught.value)
        assert "hunter2" not in message and "env:NAME" in message and "user:password@" in message
    with pytest.raises(ConfigInvalid) as caught:
        get_connector("s3", {"bucket": "b", "endpoint_url": "http://AKIA:secretkey@minio:9000"})
    assert "secretkey" not in str(caught.value)


def test_an_s3_source_with_keys_in_it_is_refused_everywhere() -> None:
    with pytest.raises(ValidationError) as caught:
        source_validate(S3_WITH_KEYS)
    assert "secretkey" not in str(caught.value) and "env:NAME" in str(caught.value)
    with pytest.raises(ValueError) as parsed:
        parse_s3_uri(S3_WITH_KEYS)
    assert "secretkey" not in str(parsed.value)
    with pytest.raises(ConfigInvalid) as bucket:
        get_connector("s3", {"bucket": "AKIAEXAMPLE:secretkey@bucket"})
    assert "secretkey" not in str(bucket.value)


@pytest.mark.django_db
def test_the_api_refuses_credentials_in_a_source_or_a_connector_address(client_for: Any, admin: Any) -> None:
    client = client_for(admin, mfa=True)
    base = {"name": "fraud", "kind": "model", "owner_team": "risk", "tier": 1, "region": "eu"}
    s3 = client.post(f"{API}/assets/", {**base, "source_uri": S3_WITH_KEYS}, content_type="application/json")
    assert s3.status_code == 400
    assert "secretkey" not in s3.content.decode() and "env:NAME" in s3.content.decode()
    mlflow = client.post(
        f"{API}/assets/",
        {**base, "connector": "mlflow", "connector_config": {"tracking_uri": MLFLOW_WITH_PASSWORD}},
        content_type="application/json",
    )
    assert mlflow.status_code == 400
    assert "hunter2" not in mlflow.content.decode() and "user:password@" in mlflow.content.decode()
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_an_asset_saved_from_an_import_is_refused_too() -> None:
    asset = AssetFactory.build(name="fraud", source_uri=S3_WITH_KEYS)
    with pytest.raises(ValidationError) as caught:
        asset.full_clean()
    assert "secretkey" not in str(caught.value.message_dict)


@pytest.mark.django_db
@pytest.mark.usefixtures("loopback_allowed")
def test_discovery_refuses_a_tracking_uri_with_a_password(admin: Any, client_for: Any) -> None:
    fields = {"kind": "mlflow", "region": "eu-west-1", "config_tracking_uri": MLFLOW_WITH_PASSWORD}
    response = client_for(admin, mfa=True).post(
        "/inventory/discover/", {"action": "find", "config_kind": "mlflow", **fields}
    )
    page = response.content.decode()
    assert "user:password@" in page and "hunter2" not in page.replace('value="' + MLFLOW_WITH_PASSWORD, "")


def test_a_stored_error_never_carries_the_credentials_of_an_address() -> None:
    words, detail = words_and_detail(f"The MLflow server at {MLFLOW_WITH_PASSWORD} refused: 401; and {S3_WITH_KEYS}.")
    assert "hunter2" not in words + str(detail) and "secretkey" not in words + str(detail)
    assert "http://127.0.0.1:60503" in words and "s3://bucket/prefix" in words


# --- file: secrets ------------------------------------------------------------------------


def test_a_file_secret_outside_the_secret_folders_is_refused(settings: Any, tmp_path: Path) -> None:
    allowed, elsewhere = tmp_path / "secrets", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    (allowed / "token").write_text("tok\n")
    (elsewhere / "token").write_text("other\n")
    settings.CONNECTOR_SECRET_DIRS = [allowed]
    assert SecretRef.parse(f"file:{allowed}/token", field="token").resolve() == "tok"
    for ref in (f"file:{elsewhere}/token", f"file:{allowed}/../elsewhere/token"):
        with pytest.raises(ConfigInvalid, match="CONNECTOR_SECRET_DIRS") as caught:
            SecretRef.parse(ref, field="token")
        assert str(elsewhere) not in str(caught.value)
    # A link inside the folder that leads out of it is refused when the secret is read.
    (allowed / "link").symlink_to(elsewhere / "token")
    with pytest.raises(SecretUnavailable, match="CONNECTOR_SECRET_DIRS"):
        SecretRef.parse(f"file:{allowed}/link", field="token").resolve()
    # Settings can change after the reference was saved: it is checked again when read.
    saved = SecretRef.parse(f"file:{allowed}/token", field="token")
    settings.CONNECTOR_SECRET_DIRS = [elsewhere]
    with pytest.raises(SecretUnavailable, match="CONNECTOR_SECRET_DIRS"):
        saved.resolve()


def test_an_unreadable_secret_file_is_not_named(settings: Any, tmp_path: Path) -> None:
    settings.CONNECTOR_SECRET_DIRS = [tmp_path]
    with pytest.raises(SecretUnavailable) as caught:
        SecretRef.parse(f"file:{tmp_path}/missing-token", field="token").resolve()
    assert "missing-token" not in str(caught.value) and str(tmp_path) not in str(caught.value)


def test_the_portals_own_keys_are_never_a_secret_even_inside_the_folders(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    settings.CONNECTOR_SECRET_DIRS = [tmp_path]
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "vault-keys").write_text("MASTER-KEY\n")
    with pytest.raises(ConfigInvalid, match="portal's own keys"):
        SecretRef.parse(f"file:{tmp_path}/keys/vault-keys", field="token")


@pytest.mark.django_db
@pytest.mark.usefixtures("loopback_allowed")
def test_discovery_does_not_send_the_vault_key_to_a_listener(
    settings: Any, tmp_path: Path, admin: Any, client_for: Any, listener: tuple[str, list[str]]
) -> None:
    url, seen = listener
    settings.VAR_DIR = tmp_path
    settings.CONNECTOR_SECRET_DIRS = [tmp_path, Path("/run/secrets")]
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "vault-keys").write_text("MASTER-KEY-MATERIAL\n")
    fields = {
        "kind": "mlflow",
        "region": "eu-west-1",
        "config_tracking_uri": url,
        "config_token": f"file:{tmp_path}/keys/vault-keys",
    }
    response = client_for(admin, mfa=True).post(
        "/inventory/discover/", {"action": "find", "config_kind": "mlflow", **fields}
    )
    assert response.status_code == 200
    assert not any("MASTER-KEY" in header for header in seen), seen
    assert seen == []  # refused before anything was sent
    assert "portal&#x27;s own keys" in response.content.decode() or "portal's own keys" in response.content.decode()


@pytest.mark.django_db
def test_a_stored_s3_source_with_keys_fails_its_backup_without_repeating_them() -> None:
    """A row saved before the rule (or written around it) is refused when the worker reads it."""
    asset = AssetFactory.create(name="legacy", source_uri="/srv/legacy")
    Asset.objects.filter(pk=asset.pk).update(source_uri=S3_WITH_KEYS, connector="s3")
    asset.refresh_from_db()
    with contextlib.ExitStack() as stack, pytest.raises(VaultIOFailure) as caught:
        _backup_source(asset, stack)
    assert "secretkey" not in str(caught.value) and "AKIAEXAMPLE" not in str(caught.value)


@pytest.mark.django_db
def test_yaml_import_and_vaults_refuse_credentials_in_addresses(admin: Any) -> None:
    text = (
        "assets:\n  - name: fraud\n    kind: model\n    owner_team: risk\n    tier: 1\n    region: eu\n"
        f"    source_uri: {S3_WITH_KEYS}\n"
    )
    with pytest.raises(ImportFailed) as caught:
        import_file(name="a.yaml", data=text.encode(), by=None)
    assert "secretkey" not in str(caught.value) and "env:NAME" in str(caught.value)
    assert not Asset.objects.exists()
    for config in ({"bucket": "AKIA:secretkey@b"}, {"bucket": "b", "endpoint_url": "http://AKIA:secretkey@minio:9000"}):
        with pytest.raises(ValidationError) as refused:
            vault_create(by=admin, fields={"name": "v", "kind": "s3", "region": "eu", "config": config})
        assert "secretkey" not in str(refused.value)
    with pytest.raises(ConfigInvalid) as host:
        get_connector("postgres", {"dbname": "d", "host": "admin:hunter2@db"})
    assert "hunter2" not in str(host.value)
