"""API tokens: issued for a password (and a code, when enrolled), refused once revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dr_portal.accounts.models import ApiToken, Role
from dr_portal.audit.models import AuditEvent
from tests.conftest import enrol_totp, totp_now
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long test password"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def chris():
    return UserFactory.create(username="chris", role=Role.INCIDENT_COMMANDER, password=PASSWORD)


def issue(api: APIClient, **body):
    return api.post(TOKEN_URL, body, format="json")


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_token_for_username_and_password_works_on_the_api(chris) -> None:
    response = issue(APIClient(), username="chris", password=PASSWORD, name="laptop")
    assert response.status_code == 201, response.content
    raw = response.json()["token"]
    assert raw.startswith("drp_")
    assert response.json()["details"]["mfa_verified"] is False
    me = bearer(raw).get(reverse("api:me"))
    assert me.status_code == 200
    assert me.json()["role"] == "incident_commander"
    stored = ApiToken.objects.get()
    assert raw not in (stored.digest, stored.prefix)  # only a digest is kept
    assert AuditEvent.objects.filter(action="token.issued", actor=chris).exists()


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_token_name_is_the_default_name(chris, name: str) -> None:
    # The schema allows "" (the fuzzer sends it): it must not be a 400.
    response = issue(APIClient(), username="chris", password=PASSWORD, name=name)
    assert response.status_code == 201, response.content
    assert response.json()["details"]["name"] == "API token"


def test_no_token_gets_401_in_the_error_shape() -> None:
    response = APIClient().get(reverse("api:me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["status"] == 401
    assert error["code"] == "not_authenticated"
    assert error["detail"]


def test_a_made_up_token_gets_401(chris) -> None:
    response = bearer("drp_not-a-real-token").get(reverse("api:me"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_token_gets_401(chris) -> None:
    raw = issue(APIClient(), username="chris", password=PASSWORD).json()["token"]
    api = bearer(raw)
    assert api.delete(reverse("api:auth-token-current")).status_code == 204
    response = api.get(reverse("api:me"))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["detail"]
    assert AuditEvent.objects.filter(action="token.revoked").exists()


def test_an_expired_token_gets_401(chris) -> None:
    raw = issue(APIClient(), username="chris", password=PASSWORD).json()["token"]
    later = timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS, seconds=1)
    with time_machine.travel(later):
        assert bearer(raw).get(reverse("api:me")).status_code == 401


def test_wrong_password_gets_401_and_no_token(chris) -> None:
    response = issue(APIClient(), username="chris", password="nope")
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_missing_fields_get_400_naming_them() -> None:
    response = issue(APIClient(), username="chris")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


def test_enrolled_people_must_send_their_code(chris) -> None:
    device = enrol_totp(chris)
    api = APIClient()
    without = issue(api, username="chris", password=PASSWORD)
    assert without.status_code == 401
    assert "otp" in without.json()["error"]["detail"]
    # django-otp throttles a device after a wrong code, even for the right one,
    # for a second: the clock stands still so a slow machine cannot outwait it.
    with time_machine.travel(timezone.now(), tick=False):
        wrong_code = "000000" if totp_now(device) != "000000" else "111111"
        wrong = issue(api, username="chris", password=PASSWORD, otp=wrong_code)
        assert wrong.status_code == 401
        throttled = issue(api, username="chris", password=PASSWORD, otp=totp_now(device))
    assert throttled.status_code == 401
    assert "Too many wrong codes" in throttled.json()["error"]["detail"]
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        ok = issue(api, username="chris", password=PASSWORD, otp=totp_now(device))
    assert ok.status_code == 201
    assert ok.json()["details"]["mfa_verified"] is True


def test_web_page_lists_and_revokes_tokens(chris, client_for) -> None:
    client = client_for(chris)
    page = client.post(reverse("accounts:tokens"), {"name": "ci"})
    assert "copy it now" in page.content.decode()
    token = ApiToken.objects.get(user=chris)
    client.post(reverse("accounts:token-revoke", args=[token.public_id]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_can_revoke_someone_elses_token(chris, oncall, client_for) -> None:
    raw = issue(APIClient(), username="chris", password=PASSWORD).json()["token"]
    token = ApiToken.objects.get(user=chris)
    response = client_for(oncall).post(reverse("accounts:token-revoke", args=[token.public_id]))
    assert response.status_code == 404
    assert bearer(raw).get(reverse("api:me")).status_code == 200


def test_schema_generates_for_signed_in_people(chris) -> None:
    raw = issue(APIClient(), username="chris", password=PASSWORD).json()["token"]
    response = bearer(raw).get(reverse("api-schema"))
    assert response.status_code == 200
    assert b"bearerToken" in response.content
