"""Every change to a person, from the admin site or anywhere else, is one audited service; flags follow the role."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, Role, User
from dr_portal.accounts.people import person_update
from dr_portal.accounts.services import token_issue
from dr_portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "a long test password 2"


def _change_form(person: User, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": person.role,
        "is_active": "on" if person.is_active else "",
        "date_joined_0": person.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": person.date_joined.strftime("%H:%M:%S"),
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


def test_a_role_change_in_the_admin_site_is_audited_and_sets_the_flags(admin, viewer, client_for) -> None:
    site = client_for(admin, mfa=True)
    answer = site.post(f"/admin/accounts/user/{viewer.pk}/change/", _change_form(viewer, role=Role.ADMIN))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    viewer.refresh_from_db()
    assert viewer.role == Role.ADMIN and viewer.is_staff and viewer.is_superuser
    event = AuditEvent.objects.get(action="person.changed")
    assert event.actor_id == admin.pk
    assert event.payload["changes"] == {"role": {"from": "viewer", "to": "admin"}}
    assert event.payload["via"] == "admin"


def test_deactivating_in_the_admin_site_is_audited_and_revokes_tokens(admin, commander, client_for) -> None:
    token_issue(user=commander, name="pager", mfa_verified=False)
    site = client_for(admin, mfa=True)
    answer = site.post(f"/admin/accounts/user/{commander.pk}/change/", _change_form(commander, is_active=""))
    assert answer.status_code == 302
    commander.refresh_from_db()
    assert not commander.is_active
    event = AuditEvent.objects.get(action="person.changed")
    assert event.payload["changes"] == {"is_active": {"from": True, "to": False}}
    assert event.payload["tokens_revoked"] == 1
    assert not ApiToken.objects.filter(user=commander, revoked_at__isnull=True).exists()


def test_a_password_set_in_the_admin_site_is_audited_and_revokes_tokens(admin, commander, client_for) -> None:
    token_issue(user=commander, name="pager", mfa_verified=False)
    site = client_for(admin, mfa=True)
    form = {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    answer = site.post(f"/admin/accounts/user/{commander.pk}/password/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    commander.refresh_from_db()
    assert commander.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="person.password_changed")
    assert event.actor_id == admin.pk and event.payload["via"] == "admin" and event.payload["tokens_revoked"] == 1


def test_a_second_factor_reset_is_an_audited_admin_action(admin, oncall, client_for) -> None:
    TOTPDevice.objects.create(user=oncall, name="app", confirmed=True)
    token_issue(user=oncall, name="approvals", mfa_verified=True)
    site = client_for(admin, mfa=True)
    answer = site.post("/admin/accounts/user/", {"action": "reset_second_factor", "_selected_action": [str(oncall.pk)]})
    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=oncall).exists()
    event = AuditEvent.objects.get(action="person.mfa_reset")
    assert event.actor_id == admin.pk and event.payload == {
        "username": "oli",
        "devices_removed": 1,
        "tokens_revoked": 1,
        "via": "admin",
    }


def test_people_are_not_deleted_and_devices_not_edited_in_the_admin_site(admin, viewer, client_for) -> None:
    site = client_for(admin, mfa=True)
    assert site.get(f"/admin/accounts/user/{viewer.pk}/delete/").status_code == 403
    assert site.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_the_database_refuses_flags_that_do_not_follow_the_role(viewer) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=viewer.pk).update(is_superuser=True)


def test_createsuperuser_makes_an_admin(db) -> None:
    person = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    assert person.role == Role.ADMIN and person.is_staff


def test_an_unchanged_save_writes_no_event(viewer) -> None:
    person_update(user_id=viewer.pk, changes={"role": Role.VIEWER}, by=None, via="test")
    assert not AuditEvent.objects.filter(action="person.changed").exists()


def test_names_and_email_go_to_the_erasable_part_of_the_event(admin, viewer) -> None:
    person_update(user_id=viewer.pk, changes={"email": "new@example.org"}, by=admin, via="test")
    event = AuditEvent.objects.get(action="person.changed")
    assert event.public_payload["changes"] == {} and "new@example.org" not in event.payload_json
    assert "new@example.org" in str(event.personal_data)


def test_a_person_added_in_the_admin_site_is_audited_with_flags_from_the_role(admin, client_for) -> None:
    site = client_for(admin, mfa=True)
    form = {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    assert site.post("/admin/accounts/user/add/", form).status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.role == Role.VIEWER and not newbie.is_staff
    assert AuditEvent.objects.filter(action="person.added", actor=admin).exists()
