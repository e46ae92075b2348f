"""Connector configuration: typed, validated, secrets only as references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inventory.connectors import (
    ConfigInvalid,
    SecretRef,
    SecretUnavailable,
    config_to_json,
    connector_kinds,
    get_connector,
    kind_fields,
)


def test_every_kind_is_registered() -> None:
    assert {"filesystem", "s3", "sqlite", "postgres", "redis", "mlflow", "vector"} <= set(connector_kinds())


def test_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigInvalid, match=r"Unknown connector kind .oracle.*filesystem"):
        get_connector("oracle", {})


def test_unknown_and_missing_fields_are_named() -> None:
    with pytest.raises(ConfigInvalid, match=r"Unknown s3 field.*colour"):
        get_connector("s3", {"bucket": "b", "colour": "red"})
    with pytest.raises(ConfigInvalid, match="field bucket is required"):
        get_connector("s3", {"prefix": "x"})
    with pytest.raises(ConfigInvalid, match="path: expected text"):
        get_connector("filesystem", {"path": 3})
    with pytest.raises(ConfigInvalid, match="path: give an absolute path"):
        get_connector("filesystem", {"path": "relative/dir"})


def test_a_pasted_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        get_connector("s3", {"bucket": "b", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"})
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "env:NAME" in str(caught.value)


def test_secret_reference_resolves_from_env_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.CONNECTOR_SECRET_DIRS = [tmp_path]  # file: secrets are read only from these folders
    monkeypatch.setenv("DRP_TEST_SECRET", "s3cr3t")
    assert SecretRef.parse("env:DRP_TEST_SECRET", field="x").resolve() == "s3cr3t"
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert SecretRef.parse(f"file:{secret_file}", field="x").resolve() == "from-file"
    with pytest.raises(SecretUnavailable, match="DRP_TEST_UNSET named by the configuration is not set"):
        SecretRef.parse("env:DRP_TEST_UNSET", field="x").resolve()
    with pytest.raises(SecretUnavailable, match="cannot be read"):
        SecretRef.parse(f"file:{tmp_path}/nope", field="x").resolve()


def test_configuration_round_trips_with_references_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRP_TEST_KEY", "AKIAEXAMPLE")
    connector = get_connector("s3", {"bucket": "b", "access_key_id": "env:DRP_TEST_KEY"})
    stored = config_to_json(connector.config)
    assert stored["access_key_id"] == "env:DRP_TEST_KEY"
    assert "AKIAEXAMPLE" not in repr(connector.config) + str(stored)


def test_fields_say_which_are_secret_and_required() -> None:
    fields = {f["name"]: f for f in kind_fields("s3")}
    assert fields["bucket"]["required"] and not fields["bucket"]["secret"]
    assert fields["secret_access_key"]["secret"] and not fields["secret_access_key"]["required"]
