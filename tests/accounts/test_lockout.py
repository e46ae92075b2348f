"""Lock-out by person and address: outsiders cannot lock people out, one address cannot guess forever."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long test password"
ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def chris() -> User:
    return UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password=PASSWORD)


def sign_in(address: str, username: str, password: str):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"username": username, "password": password})


def test_failures_from_another_address_do_not_lock_the_person_out(chris: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(ATTACKER, "chris", "guess")
    assert sign_in(ATTACKER, "chris", PASSWORD).status_code == 429, "the guessing address is locked for chris"
    assert sign_in(OFFICE, "chris", PASSWORD).status_code == 302, "chris still gets in from the office"


def test_one_address_guessing_many_usernames_hits_the_address_limit(chris: User, settings) -> None:
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for name in ("ada", "bob", "cy"):
        sign_in(ATTACKER, name, "guess")
    locked = sign_in(ATTACKER, "chris", PASSWORD)
    assert locked.status_code == 429 and "locked" in locked.content.decode().lower()
    assert sign_in(OFFICE, "chris", PASSWORD).status_code == 302


def test_the_token_endpoint_answers_a_lock_out_with_429_json(chris: User) -> None:
    api = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post("/api/v1/auth/token/", {"username": "chris", "password": "guess"}, content_type="application/json")
    response = api.post(
        "/api/v1/auth/token/", {"username": "chris", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 429 and response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "locked_out" and error["status"] == 429
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())


def _enrol(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def test_a_locked_out_person_with_a_valid_second_factor_still_gets_in(chris: User) -> None:
    device = _enrol(chris)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(ATTACKER, "chris", "guess")
    assert sign_in(ATTACKER, "chris", PASSWORD).status_code == 429
    page = Client(REMOTE_ADDR=ATTACKER)
    answer = page.post("/accounts/login/", {"username": "chris", "password": PASSWORD, "otp_token": _code(device)})
    assert answer.status_code == 302 and not answer["Location"].startswith("/accounts/mfa")
    assert page.get("/").status_code == 200 and page.session.get("otp_device_id"), "signed in, MFA verified"


def test_a_wrong_code_does_not_open_the_lock(chris: User) -> None:
    _enrol(chris)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(ATTACKER, "chris", "guess")
    wrong = Client(REMOTE_ADDR=ATTACKER).post(
        "/accounts/login/", {"username": "chris", "password": PASSWORD, "otp_token": "000000"}
    )
    assert wrong.status_code == 429


def test_a_second_factor_needs_the_right_password_too(chris: User) -> None:
    device = _enrol(chris)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(ATTACKER, "chris", "guess")
    answer = Client(REMOTE_ADDR=ATTACKER).post(
        "/accounts/login/", {"username": "chris", "password": "guess", "otp_token": _code(device)}
    )
    assert answer.status_code == 429


def test_a_second_factor_does_not_pass_the_per_address_limit(chris: User, settings) -> None:
    device = _enrol(chris)
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for name in ("ada", "bob", "cy"):
        sign_in(ATTACKER, name, "guess")
    answer = Client(REMOTE_ADDR=ATTACKER).post(
        "/accounts/login/", {"username": "chris", "password": PASSWORD, "otp_token": _code(device)}
    )
    assert answer.status_code == 429
    assert "authenticator code" not in answer.content.decode().lower(), "no way in is offered past the address limit"


def test_the_locked_out_page_offers_the_second_factor_way_in(chris: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(ATTACKER, "chris", "guess")
    page = sign_in(ATTACKER, "chris", PASSWORD).content.decode()
    assert 'name="otp_token"' in page


def test_the_token_endpoint_lets_a_locked_out_person_in_with_their_code(chris: User) -> None:
    device = _enrol(chris)
    api = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post("/api/v1/auth/token/", {"username": "chris", "password": "guess"}, content_type="application/json")
    body = {"username": "chris", "password": PASSWORD, "name": "pager", "otp": _code(device)}
    response = api.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["details"]["mfa_verified"] is True
