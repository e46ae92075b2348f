"""Driver configuration is validated; secrets are references, never values."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.runs.drivers.base import DriverConfigInvalid, DriverRefused
from incidents.runs.drivers.config import driver_build, driver_config_validate
from incidents.runs.drivers.models import EndpointRoute
from incidents.runs.drivers.webhook import WebhookDriver
from tests.factories import AssetFactory

HAP = {"socket": "unix:/run/haproxy/admin.sock", "backend": "be_scoring", "servers": {"primary": "p", "alternate": "a"}}


def test_valid_configs_pass() -> None:
    assert driver_config_validate("haproxy", HAP) == HAP
    assert driver_config_validate("haproxy", {**HAP, "socket": "tcp:127.0.0.1:9999"})
    assert driver_config_validate("webhook", {"url": "https://lb.example/switch", "secret_env": "LB_SECRET"})
    assert driver_config_validate("record_only", {}) == {}


@pytest.mark.parametrize(
    ("driver", "config", "message"),
    [
        ("bogus", {}, "Unknown traffic driver"),
        ("haproxy", {**HAP, "socket": "/run/x.sock"}, "socket must be"),
        ("haproxy", {**HAP, "servers": {"alternate": "a"}}, "servers must map primary"),
        ("haproxy", {**HAP, "servers": {"primary": "p", "backup": "b"}}, "unknown route 'backup'"),
        ("haproxy", {**HAP, "colour": "red"}, "Unknown setting 'colour'"),
        ("webhook", {"url": "ftp://x", "secret_env": "S"}, "url must be an http"),
        ("webhook", {"url": "https://x/y", "secret": "hunter2"}, "Unknown setting 'secret'"),
        ("webhook", {"url": "https://x/y"}, "exactly one of secret_env"),
        ("webhook", {"url": "https://x/y", "secret_env": "S", "retries": 500}, "retries must be"),
        ("record_only", {"smoke_url": "http://x/"}, "Unknown setting 'smoke_url'"),
    ],
)
def test_bad_configs_are_refused_with_a_reason(driver: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverConfigInvalid, match=message):
        driver_config_validate(driver, config)


@pytest.mark.django_db
def test_webhook_secret_is_read_from_the_environment_at_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    asset = AssetFactory.create(name="scoring", kind="endpoint")
    route = EndpointRoute(
        asset=asset, driver="webhook", config={"url": "http://127.0.0.1:1/", "secret_env": "DRP_TEST_HOOK"}
    )
    with pytest.raises(DriverRefused, match="DRP_TEST_HOOK is not set"):
        driver_build(route)
    monkeypatch.setenv("DRP_TEST_HOOK", "s3cret")
    built = driver_build(route)
    assert isinstance(built, WebhookDriver) and built.secret == b"s3cret"
    secret_file = tmp_path / "hook.secret"
    secret_file.write_text("from-file\n")
    route.config = {"url": "http://127.0.0.1:1/", "secret_file": str(secret_file)}
    assert driver_build(route).secret == b"from-file"  # type: ignore[union-attr]
