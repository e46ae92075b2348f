"""Changing paging set-up in place: a schedule's name, a layer, an override, a policy's re-notify interval,
a level's wait. One service per action, audited with what changed; refused (ValidationError, field →
message) on bad input, an overlap, or when an open page would be left reaching no one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Schedule
from incidents.paging.removals import _still_reaches_someone
from incidents.paging.schedules import _audit, _check_members, _overlap, _stamp


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}


@transaction.atomic
def schedule_rename(*, schedule: Schedule, name: str, by: User | None = None) -> Schedule:
    locked = Schedule.objects.select_for_update(no_key=True).get(pk=schedule.pk)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the schedule a name people will recognise."})
    if name != locked.name:
        _audit(
            "paging.schedule_changed",
            by=by,
            obj=locked,
            payload={"team": locked.team, "name": {"from": locked.name, "to": name}},
        )
        locked.name = name
        locked.save(update_fields=["name"])
    return locked


@transaction.atomic
def layer_change(
    *,
    layer: Layer,
    name: str,
    members: list[int],
    shift_hours: int,
    ends_at: datetime | None,
    by: User | None = None,
) -> Layer:
    """Refused when the new end overlaps another layer's start, or an open page would reach no one."""
    schedule = Schedule.objects.select_for_update(no_key=True).get(pk=layer.schedule_id)
    locked = Layer.objects.get(pk=layer.pk)
    _check_members(members)
    if shift_hours < 1:
        raise ValidationError({"shift_hours": "A shift lasts at least one hour."})
    if ends_at is not None and ends_at <= locked.starts_at:
        raise ValidationError({"ends_at": f"A layer must end after it starts ({locked.starts_at:%Y-%m-%d %H:%M} UTC)."})
    for other in schedule.layers.exclude(pk=locked.pk):
        if _overlap(locked.starts_at, ends_at, other.starts_at, other.ends_at):
            raise ValidationError(
                {
                    "ends_at": f"Would overlap layer “{other.name}” "
                    f"(from {other.starts_at:%Y-%m-%d %H:%M} UTC): end this one earlier."
                }
            )
    before: dict[str, Any] = {
        "name": locked.name,
        "members": list(locked.members),
        "shift_hours": locked.shift_hours,
        "ends_at": _stamp(locked.ends_at),
    }
    new_name = name.strip() or locked.name
    after: dict[str, Any] = {
        "name": new_name,
        "members": members,
        "shift_hours": shift_hours,
        "ends_at": _stamp(ends_at),
    }
    locked.name, locked.members, locked.shift_hours, locked.ends_at = new_name, members, shift_hours, ends_at
    locked.save(update_fields=["name", "members", "shift_hours", "ends_at"])
    _still_reaches_someone(schedule, f"This change to layer “{before['name']}”")
    changed = _changes(before, after)
    if changed:
        _audit(
            "paging.layer_changed",
            by=by,
            obj=schedule,
            payload={"team": schedule.team, "layer": before["name"], **changed},
        )
    return locked


@transaction.atomic
def override_change(*, override: Override, starts_at: datetime, ends_at: datetime, by: User | None = None) -> Override:
    schedule = Schedule.objects.select_for_update(no_key=True).get(pk=override.schedule_id)
    locked = Override.objects.select_related("user").get(pk=override.pk)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "An override must end after it starts."})
    clash = (
        schedule.overrides.exclude(pk=locked.pk)
        .filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .select_related("user")
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                "starts_at": f"Overlaps the override of {display_name(clash.user)} "
                f"({clash.starts_at:%Y-%m-%d %H:%M} to {clash.ends_at:%Y-%m-%d %H:%M} UTC)."
            }
        )
    before = {"starts_at": _stamp(locked.starts_at), "ends_at": _stamp(locked.ends_at)}
    after = {"starts_at": _stamp(starts_at), "ends_at": _stamp(ends_at)}
    locked.starts_at, locked.ends_at = starts_at, ends_at
    locked.save(update_fields=["starts_at", "ends_at"])
    _still_reaches_someone(schedule, f"This change to the override of {display_name(locked.user)}")
    changed = _changes(before, after)
    if changed:
        payload = {"team": schedule.team, "user_id": locked.user_id, **changed}
        _audit("paging.override_changed", by=by, obj=schedule, payload=payload)
    return locked


@transaction.atomic
def policy_change(*, policy: EscalationPolicy, repeat_minutes: int, by: User | None = None) -> EscalationPolicy:
    locked = EscalationPolicy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    if not 1 <= repeat_minutes <= 1440:
        raise ValidationError({"repeat_minutes": "Re-notify every 1 to 1440 minutes."})
    if repeat_minutes != locked.repeat_minutes:
        payload = {"severity": locked.severity, "repeat_minutes": {"from": locked.repeat_minutes, "to": repeat_minutes}}
        _audit("paging.policy_changed", by=by, obj=locked, payload=payload)
        locked.repeat_minutes = repeat_minutes
        locked.save(update_fields=["repeat_minutes"])
    return locked


@transaction.atomic
def level_change(*, level: EscalationLevel, wait_minutes: int, by: User | None = None) -> EscalationLevel:
    policy = EscalationPolicy.objects.select_for_update(no_key=True).get(pk=level.policy_id)
    locked = EscalationLevel.objects.get(pk=level.pk)
    if not 1 <= wait_minutes <= 1440:
        raise ValidationError({"wait_minutes": "Wait 1 to 1440 minutes before the next level."})
    if wait_minutes != locked.wait_minutes:
        payload = {
            "severity": policy.severity,
            "position": locked.position,
            "wait_minutes": {"from": locked.wait_minutes, "to": wait_minutes},
        }
        _audit("paging.level_changed", by=by, obj=policy, payload=payload)
        locked.wait_minutes = wait_minutes
        locked.save(update_fields=["wait_minutes"])
    return locked
