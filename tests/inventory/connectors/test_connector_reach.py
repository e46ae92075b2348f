"""Every connector asks the outbound guard's connector rule before it connects (#11, dr_portal/outbound.py).

Databases and registries live on private networks, so private and loopback
addresses are allowed by default; link-local ones (cloud metadata at
169.254.169.254, fe80::/10) never, whatever the settings list; and when
CONNECTOR_ALLOWED_NETWORKS is set, only addresses inside it. A refusal is final
(ConnectorRefused, code connector_target_refused), names the address and the
rule, and comes before any connection: without the guard these targets would
be tried (and time out) instead.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dr_portal import outbound
from incidents.runs.drivers.base import DriverRefused
from incidents.runs.drivers.haproxy import runtime_command
from inventory.connectors import Capture, ConfigInvalid, ConnectorRefused, get_connector
from inventory.engine.errors import VaultUnavailable
from inventory.engine.vaults.s3 import S3Vault
from inventory.engine.vaults.s3_client import S3Config

METADATA = "169.254.169.254"
LINK_LOCAL = r"169\.254\.169\.254 is link-local \(cloud metadata answers there\), which connectors may never reach"

TARGETS: dict[str, dict[str, Any]] = {
    "postgres": {"host": METADATA, "port": 5432, "dbname": "app", "connect_timeout": 1},
    "redis": {"host": METADATA, "port": 6379},
    "s3": {"bucket": "data", "endpoint_url": f"http://{METADATA}:9000"},
    "mlflow": {"tracking_uri": f"http://{METADATA}:5000", "models": ["fraud"]},
}


@pytest.fixture(autouse=True)
def _production_rules(settings: Any) -> None:
    settings.DEBUG = False
    settings.CONNECTOR_ALLOWED_NETWORKS = []
    # Even a check allow-list that names link-local does not open it to connectors.
    settings.CHECK_ALLOWED_NETWORKS = [ipaddress.ip_network("169.254.0.0/16")]


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_a_link_local_target_is_refused_before_connecting(kind: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorRefused, match=LINK_LOCAL) as refused:
        get_connector(kind, TARGETS[kind]).snapshot(tmp_path)
    assert refused.value.code == "connector_target_refused"
    assert time.monotonic() - started < 1, "refused at once, not after a connection attempt"


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_the_restore_and_verify_target_is_refused_too(kind: str, tmp_path: Path) -> None:
    connector = get_connector(kind, {**TARGETS[kind], "host": "127.0.0.1"})
    target = get_connector(kind, TARGETS[kind]).config
    capture = Capture(kind=kind, data_as_of=datetime.now(UTC), details={})
    with pytest.raises(ConnectorRefused, match=LINK_LOCAL):
        connector.verify(capture=capture, target=target)


def test_an_ipv6_link_local_or_ipv4_mapped_metadata_address_is_refused() -> None:
    for address in ("fe80::1", "::ffff:169.254.169.254"):
        with pytest.raises(outbound.TargetRefused, match="link-local"):
            outbound.connector_address(address, 5432)


def test_private_and_loopback_addresses_are_allowed_by_default() -> None:
    assert outbound.connector_address("10.1.2.3", 5432) == "10.1.2.3"
    assert outbound.connector_address("192.168.7.8", 6379) == "192.168.7.8"
    assert outbound.connector_address("127.0.0.1", 6379) == "127.0.0.1"


def test_the_allow_list_applies_when_set(settings: Any, tmp_path: Path) -> None:
    settings.CONNECTOR_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert outbound.connector_address("10.1.2.3", 5432) == "10.1.2.3"
    with pytest.raises(ConnectorRefused, match=r"127\.0\.0\.1 is outside CONNECTOR_ALLOWED_NETWORKS"):
        get_connector("redis", {"host": "127.0.0.1", "port": 6379}).snapshot(tmp_path)
    with pytest.raises(ConnectorRefused, match=r"127\.0\.0\.1 is outside CONNECTOR_ALLOWED_NETWORKS"):
        get_connector("postgres", {"host": "127.0.0.1", "dbname": "app"}).snapshot(tmp_path)
    settings.CONNECTOR_ALLOWED_NETWORKS = [ipaddress.ip_network("169.254.0.0/16")]
    with pytest.raises(ConnectorRefused, match=LINK_LOCAL):  # never, even when listed
        get_connector("redis", {"host": METADATA}).snapshot(tmp_path)


def test_an_s3_vault_endpoint_on_link_local_is_refused() -> None:
    vault = S3Vault("data", config=S3Config(endpoint_url=f"http://{METADATA}:9000"))
    with pytest.raises(VaultUnavailable, match=LINK_LOCAL):
        vault.client  # noqa: B018 - building the client is what is refused


def test_the_haproxy_runtime_socket_follows_the_connector_rule_as_well(settings: Any) -> None:
    with pytest.raises(DriverRefused, match=LINK_LOCAL):
        runtime_command(f"tcp:{METADATA}:9999", "show info", timeout=0.5)
    settings.CHECK_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    settings.CONNECTOR_ALLOWED_NETWORKS = [ipaddress.ip_network("10.9.0.0/16")]
    with pytest.raises(DriverRefused, match=r"10\.1\.2\.3 is outside CONNECTOR_ALLOWED_NETWORKS"):
        runtime_command("tcp:10.1.2.3:9999", "show info", timeout=0.5)


def test_a_vector_index_is_a_local_folder_and_never_a_network_address() -> None:
    # LanceDB runs embedded: the connector opens no connection, and a remote URI is not accepted at all.
    for uri in (f"s3://{METADATA}/index", f"http://{METADATA}/index", "db://index"):
        with pytest.raises(ConfigInvalid, match="absolute path"):
            get_connector("vector", {"uri": uri, "model_path": "/models/m", "model_name": "m"})
