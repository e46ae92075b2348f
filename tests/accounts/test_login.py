"""Signing in and out, lock-out after repeated failures, password hashing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dr_portal.accounts.models import Role, User
from dr_portal.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def person() -> User:
    return UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password=PASSWORD)


def sign_in(client: Client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2(person: User) -> None:
    assert person.password.startswith("argon2$")


def test_sign_in_lands_on_the_dashboard_greeting_the_role(person: User) -> None:
    client = Client()
    response = sign_in(client, "chris", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    page = client.get(reverse("dashboard"))
    assert "Incident commander" in page.content.decode()
    assert AuditEvent.objects.filter(action="session.signed_in", actor=person).exists()


def test_wrong_password_reshows_the_form_with_an_error(person: User) -> None:
    response = sign_in(Client(), "chris", "not the password")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Please enter a correct username and password" in body
    assert 'name="username" value="chris"' in body
    failed = AuditEvent.objects.get(action="session.sign_in_failed")
    assert failed.payload["username"] == "chris"


def test_repeated_failures_lock_the_account_and_say_until_when(person: User) -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, "chris", "wrong")
        response = sign_in(client, "chris", PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "Account locked" in body
    until = start + settings.AXES_COOLOFF_TIME
    assert until.strftime("%H:%M") in body
    # The right password does not help while locked, but does once it expires.
    with time_machine.travel(until + timedelta(seconds=1), tick=False):
        assert sign_in(Client(), "chris", PASSWORD).status_code == 302


def test_lockout_is_per_account(person: User) -> None:
    UserFactory.create(username="olga", role=Role.ONCALL_ENGINEER, password=PASSWORD)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "chris", "wrong")
    assert sign_in(client, "olga", PASSWORD).status_code == 302


def test_sign_out_needs_post_and_is_audited(person: User, client_for) -> None:
    client = client_for(person)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"), follow=True)
    assert "You have signed out." in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action="session.signed_out", actor=person).exists()


def test_next_parameter_cannot_send_people_off_site(person: User) -> None:
    response = Client().post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": "chris", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard")


def test_pages_carry_a_strict_content_security_policy(person: User, client_for) -> None:
    response = client_for(person).get(reverse("dashboard"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
