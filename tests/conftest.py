"""Persona fixtures and signed-in clients used across the suite."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import Role, User
from tests.audit.flush import audit_exports_in_tmp, audit_flush_permit  # noqa: F401 - audit tables in tests
from tests.factories import UserFactory


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
