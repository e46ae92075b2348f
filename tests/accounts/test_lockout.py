"""Lock-out by person and address: outsiders cannot lock people out, one address cannot guess forever."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

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
