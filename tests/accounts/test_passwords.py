"""Changing or resetting a password ends the person's API tokens and other sessions; resets go by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from dr_portal.accounts.models import ApiToken, Role, User
from dr_portal.accounts.services import token_issue
from dr_portal.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD = "an old long password 1"
NEW = "a brand new long password 2"


@pytest.fixture
def chris() -> User:
    return UserFactory.create(username="chris", email="chris@example.org", role=Role.INCIDENT_COMMANDER, password=OLD)


def bearer(raw: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def signed_in(user: User, password: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, "signed in"
    return client


def test_changing_your_password_revokes_your_tokens_and_other_sessions(chris: User) -> None:
    raw = token_issue(user=chris, name="laptop", mfa_verified=False).raw
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    here, elsewhere = signed_in(chris, OLD), signed_in(chris, OLD)

    response = here.post("/accounts/password/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW})

    assert response.status_code == 302
    assert bearer(raw).get("/api/v1/me/").status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    assert here.get("/accounts/tokens/").status_code == 200, "the session that changed it stays signed in"
    assert elsewhere.get("/accounts/tokens/").status_code == 302, "every other session is signed out"
    event = AuditEvent.objects.get(action="person.password_changed")
    assert event.payload["via"] == "change" and event.payload["tokens_revoked"] == 1


def test_a_password_set_anywhere_else_also_stops_old_tokens(chris: User) -> None:
    raw = token_issue(user=chris, name="ci", mfa_verified=False).raw
    chris.set_password(NEW)  # as /admin/'s password form or `manage.py changepassword` do
    chris.save()
    assert bearer(raw).get("/api/v1/me/").status_code == 401
    fresh = token_issue(user=chris, name="ci again", mfa_verified=False).raw
    assert bearer(fresh).get("/api/v1/me/").status_code == 200


def _reset_link() -> str:
    assert len(mail.outbox) == 1
    found = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert found, mail.outbox[0].body
    return found.group(1)


def test_self_service_reset_by_email_sets_the_password_once(chris: User) -> None:
    raw = token_issue(user=chris, name="laptop", mfa_verified=False).raw
    asked = Client().post("/accounts/password/reset/", {"email": "chris@example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password/reset/sent/"
    link = _reset_link()

    client = Client()
    form = client.get(link, follow=True)  # Django moves the token into the session, then shows the form
    assert form.status_code == 200 and b"Choose a new password" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302

    signed_in(chris, NEW)
    assert bearer(raw).get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.get(action="person.password_changed").payload["via"] == "reset"
    again = Client().get(link, follow=True)
    assert b"not valid any more" in again.content, "a reset link works once"


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing() -> None:
    asked = Client().post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_an_admin_sends_a_reset_link_from_the_people_list(chris: User, admin: User, client_for) -> None:
    client = client_for(admin, mfa=True)
    response = client.post(
        "/admin/accounts/user/", {"action": "send_password_reset", "_selected_action": [chris.pk]}, follow=True
    )
    assert response.status_code == 200 and b"Reset links sent to chris" in response.content
    link = _reset_link()
    assert mail.outbox[0].to == ["chris@example.org"]
    assert link.startswith("/accounts/password/reset/")
    sent = AuditEvent.objects.get(action="person.password_reset_sent")
    assert sent.actor_id == admin.pk
