"""TOTP enrolment and verification, and where the access layer demands them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.access import MfaRequired, NotFoundOrForbidden, Perm, can, check
from dr_portal.accounts.models import Role
from dr_portal.audit.models import AuditEvent
from tests.conftest import enrol_totp, totp_now
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_without_a_factor_is_sent_to_enrol_with_a_qr_code(admin, client_for) -> None:
    client = client_for(admin)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:mfa") + "?next=%2F"
    page = client.get(response["Location"]).content.decode()
    assert "Set up your second factor" in page
    assert "<svg" in page
    assert re.search(r'<code class="secret">[A-Z2-7]{32}</code>', page)


def test_enrolment_with_the_right_code_confirms_the_device_and_verifies_the_session(admin, client_for) -> None:
    client = client_for(admin)
    client.get(reverse("accounts:mfa"))
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    response = client.post(reverse("accounts:mfa"), {"code": totp_now(device), "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="mfa.enrolled", actor=admin).exists()


def test_a_wrong_code_is_refused_beside_the_field(admin, client_for) -> None:
    client = client_for(admin)
    client.get(reverse("accounts:mfa"))
    device = TOTPDevice.objects.get(user=admin)
    wrong = f"{(int(totp_now(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:mfa"), {"code": wrong})
    assert response.status_code == 200
    assert "That code is wrong or has expired" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_a_code_that_is_not_six_digits_gets_a_clear_error(admin, client_for) -> None:
    response = client_for(admin).post(reverse("accounts:mfa"), {"code": "12ab"})
    assert "Enter the 6 digits" in response.content.decode()


def test_enrolled_person_signing_in_is_asked_for_the_code_next() -> None:
    person = UserFactory.create(username="ada", role=Role.ADMIN, password="long enough password")
    device = enrol_totp(person)
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": "long enough password"})
    assert response["Location"].startswith(reverse("accounts:mfa"))
    page = client.get(response["Location"]).content.decode()
    assert "Enter your one-time code" in page
    response = client.post(reverse("accounts:mfa"), {"code": totp_now(device), "next": "/"})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_approving_needs_a_second_factor_for_any_role(oncall, commander) -> None:
    with pytest.raises(MfaRequired):
        check(oncall, Perm.APPROVE_STEPS)
    assert not can(commander, Perm.APPROVE_STEPS)
    oncall.is_verified = lambda: True
    check(oncall, Perm.APPROVE_STEPS)


def test_roles_without_a_permission_get_not_found(viewer, compliance) -> None:
    with pytest.raises(NotFoundOrForbidden):
        check(viewer, Perm.APPROVE_STEPS)
    with pytest.raises(NotFoundOrForbidden):
        check(compliance, Perm.COMMAND_INCIDENTS)
    check(compliance, Perm.VIEW_AUDIT)


def test_every_admin_permission_needs_a_verified_factor(admin) -> None:
    for perm in Perm:
        with pytest.raises(MfaRequired):
            check(admin, perm)
    admin.is_verified = lambda: True
    for perm in Perm:
        check(admin, perm)


def test_inactive_people_can_do_nothing(commander) -> None:
    commander.is_active = False
    assert not any(can(commander, perm) for perm in Perm)
