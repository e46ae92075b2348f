"""The audit log: one hash-chained, append-only table of events, and what seals it.

The database refuses UPDATE, DELETE and TRUNCATE on these tables (see
`dr_portal.audit.guards`, installed by migration 0002); rows are only ever
inserted, by `dr_portal.audit.services`.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.db import models

from dr_portal.accounts.contents import shown
from dr_portal.audit.querysets import AuditEventManager

ERASED = "[erased]"


class AuditEvent(models.Model):
    """One action, chained to the one before it by `prev_hash`.

    Personal data (the acting person's name, an IP address…) is not kept in
    this row: it lives in `AuditPersonalData`, and the chain commits only to
    its salted digest, so it can be erased without breaking the chain.
    """

    seq = models.PositiveBigIntegerField(primary_key=True)
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    system_actor = models.CharField(
        max_length=150, blank=True, help_text="A named system identity such as 'system:beat' when no person acted."
    )
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    incident_id = models.UUIDField(null=True, blank=True)
    # Kept as the exact canonical text that was hashed: a JSON column would
    # re-encode it (PostgreSQL's jsonb turns 1e20 into 100000000000000000000).
    payload_json = models.TextField(default="{}")
    personal_digest = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventManager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["recorded_at"]),
            # The audit page shows the newest events that match one filter: each filter
            # with seq, so a rare value is found without walking the whole log.
            # varchar_pattern_ops (PostgreSQL) serves both `action = x` and the prefix `action LIKE 'x.%'`.
            models.Index(
                fields=["action", "-seq"], opclasses=["varchar_pattern_ops", "int8_ops"], name="audit_action_newest"
            ),
            models.Index(fields=["system_actor", "-seq"], name="audit_system_actor_newest"),
            models.Index(fields=["actor", "-seq"], name="audit_actor_newest"),
            models.Index(fields=["object_type", "object_id", "-seq"], name="audit_object_newest"),
            models.Index(fields=["incident_id", "-seq"], name="audit_incident_newest"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def personal_or_none(self) -> AuditPersonalData | None:
        try:
            return self.personal
        except AuditPersonalData.DoesNotExist:
            return None

    @property
    def personal_data(self) -> dict[str, Any]:
        """The personal part as appended, or {} when there was none or it was erased."""
        row = self.personal_or_none()
        if row is None or row.data_json is None:
            return {}
        data: dict[str, Any] = json.loads(row.data_json)
        return data

    @property
    def is_erased(self) -> bool:
        row = self.personal_or_none()
        return row is not None and row.redacted_at is not None

    @property
    def actor_label(self) -> str:
        """Who acted, for people to read: the username then, a system name, or a marker once erased."""
        if self.actor_id is None:
            return self.system_actor or "system"
        name = self.personal_data.get("actor")
        if name:
            return str(name)
        return ERASED if self.is_erased else f"person #{self.actor_id}"

    @property
    def shown_payload(self) -> dict[str, Any]:
        """The payload as the person asking may see it: a point's file names and digests only to restorers."""
        return cast("dict[str, Any]", shown(self.payload))

    @property
    def summary(self) -> str:
        """One readable line of what happened; personal values (moved out of the payload) are left out."""
        from dr_portal.audit.summaries import event_summary

        return event_summary(self.action, cast("dict[str, Any]", shown(self.public_payload)))

    @property
    def payload_pretty(self) -> str:
        return json.dumps(self.shown_payload, indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def actor_role_label(self) -> str:
        from dr_portal.accounts.models import Role

        return Role(self.actor_role).label if self.actor_role in Role.values else self.actor_role

    @property
    def public_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.payload_json)
        return data

    @property
    def payload(self) -> dict[str, Any]:
        """The payload as the caller passed it, less any personal values erased since."""
        merged = self.public_payload
        merged.update(self.personal_data.get("payload", {}))
        return merged


class AuditPersonalData(models.Model):
    """The personal data of one event, kept beside it so that it can be erased.

    The event's `personal_digest` is SHA-256(salt ‖ data_json). Erasing sets
    `data_json` to NULL and the salt to '' — without the salt the digest can
    no longer be tested against guesses — and the database allows no other
    change to this table.
    """

    event = models.OneToOneField(
        AuditEvent, primary_key=True, on_delete=models.DO_NOTHING, related_name="personal", db_column="seq"
    )
    salt = models.CharField(max_length=32, blank=True)
    data_json = models.TextField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    redaction_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="The event that erased it.")

    class Meta:
        verbose_name_plural = "audit personal data"

    def __str__(self) -> str:
        return f"personal data of #{self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement 'the log had `seq` events and this head hash at this time'."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    origin = models.CharField(max_length=200)
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=100, help_text="Ed25519 signature, base64.")

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint @{self.seq}"


class AuditVerification(models.Model):
    """The outcome of one run of audit_verify (by the command or by beat)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    source = models.CharField(max_length=32, default="beat")
    events_checked = models.PositiveBigIntegerField(default=0)
    first_seq = models.PositiveBigIntegerField(null=True, blank=True)
    last_seq = models.PositiveBigIntegerField(null=True, blank=True)
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)
    checkpoint_seq = models.PositiveBigIntegerField(null=True, blank=True, help_text="Newest exported checkpoint.")
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"verification {'ok' if self.ok else 'FAILED'} @ {self.finished_at:%Y-%m-%d %H:%M:%S}"
