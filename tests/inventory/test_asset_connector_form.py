"""The asset form types a connector's configuration field by field, with errors on the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dr_portal.audit.models import AuditEvent
from inventory.models import Asset
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db
NEW = "/inventory/assets/new/"
BASE = {
    "name": "flags-db",
    "kind": "dataset",
    "owner_team": "risk",
    "tier": 1,
    "data_classes": ["none"],
    "region": "eu-west-1",
    "environment": "production",
    "source_uri": "/srv/flags",
    "labels": "",
}


def _inputs(body: str) -> set[str]:
    return set(re.findall(r'name="(config_[a-z_]+)"', body))


def test_choosing_a_kind_shows_its_fields_at_once_without_errors(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    page = client.get(NEW).content.decode()
    assert not _inputs(page) - {"config_kind"}
    assert 'hx-trigger="change from:#id_connector"' in page and 'name="show_kind"' in page  # htmx, and a button
    for headers in ({"HTTP_HX_REQUEST": "true"}, {}):  # the htmx swap, and the no-JavaScript button
        response = client.post(NEW, {**BASE, "connector": "sqlite", "config_kind": "", "show_kind": "1"}, **headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert ("<html" in body) is not bool(headers)  # htmx gets the form alone
        assert {"config_path", "config_busy_timeout", "config_tables"} <= _inputs(body)
        assert 'name="config_busy_timeout" value="10.0"' in body  # the kind's defaults, prefilled
        assert 'name="config_kind" value="sqlite"' in body
        assert "field-error" not in body and "alert-error" not in body
    assert not Asset.objects.exists()


def test_saving_a_kind_whose_fields_were_never_shown_asks_for_them_by_its_label(client_for, admin) -> None:
    body = client_for(admin, mfa=True).post(NEW, {**BASE, "connector": "postgres", "config_kind": ""}).content.decode()
    assert "Fill in the fields of the PostgreSQL database connector below, then save." in body
    assert "This field is required" not in body  # not against inputs nobody has seen yet
    assert "config_dbname" in _inputs(body) and not Asset.objects.exists()


def test_an_application_connector_is_not_asked_for_a_source_uri(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    data = {**BASE, "source_uri": "", "connector": "postgres", "config_kind": "postgres", "show_kind": "1"}
    body = client.post(NEW, data).content.decode()
    assert 'type="hidden" name="source_uri"' in body and "Database name" in body and "Dbname" not in body
    data = {**data, "config_dbname": "features", "config_host": "db.internal", "config_port": "5432"}
    del data["show_kind"]
    response = client.post(NEW, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Asset.objects.get().source_uri == "postgres://db.internal:5432/features"


def test_a_vector_range_error_is_shown_once(client_for, admin, tmp_path) -> None:
    data = {
        **BASE,
        "connector": "vector",
        "config_kind": "vector",
        "config_uri": str(tmp_path),
        "config_model_name": "m",
        "config_dimension": "8",
        "config_tables": "docs",
        "config_min_overlap": "3",
    }
    body = client_for(admin, mfa=True).post(NEW, data).content.decode()
    # The field's own bound (0 to 1) answers first; the connector's check must not repeat it.
    errors = body.count("less than or equal to 1") + body.count("min_overlap must be between 0 and 1")
    assert errors == 1, body[:3000]


def test_errors_land_on_the_field_and_a_pasted_secret_is_not_sent_back(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    data = {**BASE, "connector": "sqlite", "config_kind": "sqlite", "config_path": "flags.sqlite3"}
    body = client.post(NEW, data).content.decode()
    assert re.search(r'id="id_config_path_error">give an absolute path', body)

    pg = {**BASE, "connector": "postgres", "config_kind": "postgres", "config_dbname": "features"}
    body = client.post(NEW, {**pg, "config_port": "six"}).content.decode()
    assert 'id="id_config_port_error">Enter a whole number' in body
    body = client.post(NEW, {**pg, "config_password": "hunter2-pasted"}).content.decode()
    assert 'id="id_config_password_error"' in body and "env:NAME" in body
    assert "hunter2" not in body
    assert not Asset.objects.exists()


def test_a_valid_form_saves_the_typed_config(client_for, admin) -> None:
    client = client_for(admin, mfa=True)
    data: dict[str, Any] = {
        **BASE,
        "connector": "postgres",
        "config_kind": "postgres",
        "config_dbname": "features",
        "config_port": "6543",
        "config_password": "env:FEATURES_PG_PASSWORD",
        "config_tables": "public.flag\nledger.entry\n",
    }
    response = client.post(NEW, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    asset = Asset.objects.get(name="flags-db")
    assert asset.connector == "postgres"
    # Inputs left empty fall back to the connector's defaults (a browser shows them prefilled).
    assert asset.connector_config == {
        "dbname": "features",
        "port": 6543,
        "password": "env:FEATURES_PG_PASSWORD",
        "tables": ["public.flag", "ledger.entry"],
    }
    assert "env:FEATURES_PG_PASSWORD" in str(AuditEvent.objects.get(action="asset.created").payload)


def test_the_edit_page_shows_the_stored_config_in_its_fields(client_for, admin) -> None:
    asset = AssetFactory.create(
        connector="redis", connector_config={"port": 6380, "prefix": "feat:", "password": "env:FEAT_REDIS"}
    )
    body = client_for(admin, mfa=True).get(f"/inventory/assets/{asset.public_id}/edit/").content.decode()
    assert re.search(r'name="config_port" value="6380"', body)
    assert re.search(r'name="config_prefix" value="feat:"', body)
    assert 'value="env:FEAT_REDIS"' in body
    assert 'name="config_kind" value="redis"' in body


def test_an_s3_endpoint_typed_for_a_folder_source_is_an_error_on_the_connector_not_dropped(client_for, admin) -> None:
    data = {**BASE, "connector": "s3", "config_kind": "s3", "config_endpoint_url": "http://127.0.0.1:9000"}
    response = client_for(admin, mfa=True).post(NEW, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The source /srv/flags is a folder, so its connector is filesystem, not s3" in body
    assert not Asset.objects.exists()
    # With nothing typed for S3, the folder source decides the kind, as before.
    data = {**BASE, "connector": "s3", "config_kind": "s3"}
    assert client_for(admin, mfa=True).post(NEW, data).status_code == 302
    assert Asset.objects.get(name="flags-db").connector == "filesystem"
