"""The admin site shows the audit tables read-only: no add, change or delete, not even for superusers."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from dr_portal.audit.models import AuditCheckpoint, AuditEvent, AuditVerification

# The audit table a read-only admin shows.
_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    show_full_result_count = False
    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    list_display = ("seq", "recorded_at", "actor_label", "actor_role", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("=seq", "action", "object_id", "system_actor")
    list_select_related = ("personal",)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin[AuditCheckpoint]):
    list_display = ("seq", "signed_at", "key_id", "head_hash")


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin[AuditVerification]):
    list_display = ("finished_at", "ok", "source", "events_checked", "first_bad_seq", "problem")
