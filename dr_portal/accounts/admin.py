"""The admin site for people and tokens: every change to a person goes through accounts.people / services."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import ApiToken, User
from dr_portal.accounts.passwords import send_reset_links
from dr_portal.accounts.people import EDITABLE, person_add, person_mfa_reset, person_update
from dr_portal.accounts.services import token_revoke, user_password_set

# The admin who is changing a password: Django builds the form without the request.
_acting: contextvars.ContextVar[User | None] = contextvars.ContextVar("acting_admin", default=None)


if TYPE_CHECKING:
    _PasswordChangeBase = AdminPasswordChangeForm[User]
else:  # not subscriptable at run time
    _PasswordChangeBase = AdminPasswordChangeForm


class AuditedPasswordChangeForm(_PasswordChangeBase):
    def save(self, commit: bool = True) -> Any:
        keep = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data.get("password1") if keep else None
        return user_password_set(user=self.user, password=password, by=_acting.get(), via="admin")


@admin.register(User)
class PersonAdmin(UserAdmin[User]):
    list_display = ("username", "get_full_name", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    # is_staff / is_superuser follow the role; groups and permissions are not how DR Portal grants anything.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("DR Portal", {"fields": ("role", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    change_password_form = AuditedPasswordChangeForm
    actions = ["send_password_reset", "reset_second_factor"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor = request.user if isinstance(request.user, User) else None
        if not change:
            person_add(user=obj, by=actor, via="admin")
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE}
        updated = person_update(user_id=obj.pk, changes=changes, by=actor, via="admin")
        obj.is_staff, obj.is_superuser = updated.is_staff, updated.is_superuser

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # no groups or permissions: nothing related to save

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        token = _acting.set(request.user if isinstance(request.user, User) else None)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _acting.reset(token)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people keep their audit history: deactivate instead

    @admin.action(description="Send a password reset link by email")
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        send_reset_links(request, list(queryset))

    @admin.action(description="Reset the second factor (they enrol again at next sign-in)")
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        for person in queryset:
            person_mfa_reset(user_id=person.pk, by=actor, via="admin")
        self.message_user(request, f"Second factor reset for {queryset.count()} people.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "mfa_verified", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("public_id", "user", "prefix", "digest", "mfa_verified", "created_at", "last_used_at")
    list_filter = ("mfa_verified",)

    actions = ["revoke"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: Any = None) -> bool:
        return False  # revoked through the audited action, never edited

    def has_delete_permission(self, request: object, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token)


# Second factors are reset through the audited action above, never edited row by row.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
