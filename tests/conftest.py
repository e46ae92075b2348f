"""Persona fixtures and signed-in clients used across the suite."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import Role, User
from dr_portal.celery import app
from tests.audit.flush import audit_exports_in_tmp, audit_flush_permit  # noqa: F401 - audit tables in tests
from tests.broker import BrokerQueue, broker_url
from tests.factories import UserFactory

pytest_plugins = ["tests.server_fixtures"]  # the shared redis-server and MLflow servers


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory.create(username="ada", role=Role.ADMIN)


@pytest.fixture
def commander(db: None) -> User:
    return UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER)


@pytest.fixture
def oncall(db: None) -> User:
    return UserFactory.create(username="oli", role=Role.ONCALL_ENGINEER)


@pytest.fixture
def oncall2(db: None) -> User:
    return UserFactory.create(username="olga", role=Role.ONCALL_ENGINEER)


@pytest.fixture
def compliance(db: None) -> User:
    return UserFactory.create(username="cora", role=Role.COMPLIANCE_OFFICER)


@pytest.fixture
def viewer(db: None) -> User:
    return UserFactory.create(username="vic", role=Role.VIEWER)


def enrol_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_now(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def client_for() -> Callable[..., Client]:
    """A test client signed in as `user`; `mfa=True` also proves a second factor."""

    def _client(user: User, *, mfa: bool = False) -> Client:
        client = Client()
        client.force_login(user)
        if mfa:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol_totp(user)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return _client


@pytest.fixture
def broker_queue() -> Iterator[BrokerQueue]:
    """The test broker's queue folder, emptied before and after the test."""
    queue = BrokerQueue(broker_url())
    queue.clear()
    yield queue
    queue.clear()


def _publish_to(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # broker_write_url is what sends use; set as a key it wins over broker_url and CELERY_BROKER_URL.
    monkeypatch.setitem(app.conf, "broker_url", url)
    monkeypatch.setitem(app.conf, "broker_write_url", url)


@pytest.fixture
def frozen_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Redis URL whose server accepts connections and then never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)  # the kernel completes handshakes; nobody ever reads or replies
        url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        _publish_to(monkeypatch, url)
        yield url


@pytest.fixture
def closed_broker(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"  # nothing listens here any more
    _publish_to(monkeypatch, url)
    return url


@pytest.fixture
def loopback_allowed(settings) -> None:
    """Outbound HTTP may reach loopback: for tests whose receivers and servers listen there (production refuses it)."""
    settings.CHECK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
