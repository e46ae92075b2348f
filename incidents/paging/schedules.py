"""Who is on call: rotations, overrides, and the bad input a schedule or an escalation policy can hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from dr_portal.audit.services import audit_append
from incidents.models import Severity
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Schedule

SYSTEM = "system:paging"


def _audit(action: str, *, by: User | None, obj: Any, payload: dict[str, Any]) -> None:
    """Every change to who gets paged is on the audit log, in the same transaction."""
    audit_append(action=action, actor=by, system_actor="" if by else SYSTEM, obj=obj, payload=payload)


def _stamp(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


FAR_FUTURE = datetime.max.replace(tzinfo=timezone.get_fixed_timezone(0))


def _covers(starts: datetime, ends: datetime | None, at: datetime) -> bool:
    return starts <= at and (ends is None or at < ends)


def _overlap(a_start: datetime, a_end: datetime | None, b_start: datetime, b_end: datetime | None) -> bool:
    return a_start < (b_end or FAR_FUTURE) and b_start < (a_end or FAR_FUTURE)


def layer_member_at(layer: Layer, at: datetime) -> int | None:
    """The user id holding `layer` at `at`, or None outside its window or with nobody in it."""
    if not layer.members or not _covers(layer.starts_at, layer.ends_at, at):
        return None
    shifts = (at - layer.handoff_at) // timedelta(hours=layer.shift_hours)
    return int(layer.members[shifts % len(layer.members)])


def oncall_at(*, schedule: Schedule, at: datetime | None = None) -> User | None:
    """Who is on call: an override covering `at`, else the layer covering it."""
    at = at or timezone.now()
    override = next((o for o in schedule.overrides.all() if _covers(o.starts_at, o.ends_at, at)), None)
    if override is not None:
        return override.user
    for layer in schedule.layers.all():
        member = layer_member_at(layer, at)
        if member is not None:
            return User.objects.filter(pk=member, is_active=True).first()
    return None


def _check_members(members: list[int]) -> None:
    if not members:
        raise ValidationError({"members": "A layer needs at least one person in its rotation."})
    known = set(User.objects.filter(pk__in=members, is_active=True).values_list("pk", flat=True))
    unknown = [m for m in members if m not in known]
    if unknown:
        raise ValidationError({"members": f"No active person with id {', '.join(map(str, unknown))}."})


@transaction.atomic
def schedule_add(*, team: str, name: str, by: User | None = None) -> Schedule:
    """A team's (empty) on-call schedule; refused when the team already has one."""
    team, name = team.strip(), name.strip()
    if not team:
        raise ValidationError({"team": "Name the team, as assets name their owner team."})
    if not name:
        raise ValidationError({"name": "Give the schedule a name people will recognise."})
    existing = Schedule.objects.select_for_update(no_key=True).filter(team=team).first()
    if existing is not None:
        raise ValidationError({"team": f"Team {team} already has a schedule (“{existing.name}”): add layers to it."})
    schedule = Schedule.objects.create(team=team, name=name)
    _audit("paging.schedule_added", by=by, obj=schedule, payload={"team": team, "name": name})
    return schedule


@transaction.atomic
def layer_add(
    *,
    schedule: Schedule,
    name: str,
    members: list[int],
    starts_at: datetime,
    handoff_at: datetime | None = None,
    shift_hours: int = 168,
    ends_at: datetime | None = None,
    by: User | None = None,
) -> Layer:
    """A new rotation; refused (ValidationError) when it overlaps another layer of the schedule."""
    Schedule.objects.select_for_update(no_key=True).get(
        pk=schedule.pk
    )  # two layers added at once cannot both pass the check
    _check_members(members)
    if shift_hours < 1:
        raise ValidationError({"shift_hours": "A shift lasts at least one hour."})
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError({"ends_at": "A layer must end after it starts."})
    for other in schedule.layers.all():
        if _overlap(starts_at, ends_at, other.starts_at, other.ends_at):
            until = f"{other.ends_at:%Y-%m-%d %H:%M} UTC" if other.ends_at else "open-ended"
            raise ValidationError(
                {
                    "starts_at": f"Overlaps layer “{other.name}” ({other.starts_at:%Y-%m-%d %H:%M} UTC to {until}): "
                    "two layers would both say who is on call. End that one first, or use an override."
                }
            )
    layer = Layer.objects.create(
        schedule=schedule,
        name=name,
        members=members,
        starts_at=starts_at,
        ends_at=ends_at,
        handoff_at=handoff_at or starts_at,
        shift_hours=shift_hours,
    )
    _audit(
        "paging.layer_added",
        by=by,
        obj=schedule,
        payload={
            "team": schedule.team,
            "layer": name,
            "members": members,
            "starts_at": _stamp(starts_at),
            "ends_at": _stamp(ends_at),
            "shift_hours": shift_hours,
        },
    )
    return layer


@transaction.atomic
def override_add(
    *, schedule: Schedule, user: User, starts_at: datetime, ends_at: datetime, by: User | None = None
) -> Override:
    Schedule.objects.select_for_update(no_key=True).get(pk=schedule.pk)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "An override must end after it starts."})
    clash = schedule.overrides.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).select_related("user").first()
    if clash is not None:
        raise ValidationError(
            {
                "starts_at": f"Overlaps the override of {display_name(clash.user)} "
                f"({clash.starts_at:%Y-%m-%d %H:%M} to {clash.ends_at:%Y-%m-%d %H:%M} UTC)."
            }
        )
    override = Override.objects.create(schedule=schedule, user=user, starts_at=starts_at, ends_at=ends_at)
    _audit(
        "paging.override_added",
        by=by,
        obj=schedule,
        payload={
            "team": schedule.team,
            "user_id": user.pk,
            "starts_at": _stamp(starts_at),
            "ends_at": _stamp(ends_at),
        },
    )
    return override


@dataclass(frozen=True)
class PolicyProblem:
    level: int | None
    message: str


def policy_chain(policy: EscalationPolicy) -> list[EscalationPolicy]:
    """The policies `policy` hands over to, in order; ValidationError on a loop."""
    seen = [policy]
    current = policy
    while True:
        nxt = next((lv.then_policy for lv in current.levels.all() if lv.then_policy_id), None)
        if nxt is None:
            return seen
        if any(p.pk == nxt.pk for p in seen):
            path = " → ".join(p.severity for p in [*seen, nxt])
            raise ValidationError(f"Escalation loops: {path}. A page would go round for ever; end one chain.")
        seen.append(nxt)
        current = nxt


def policy_problems(*, policy: EscalationPolicy, at: datetime | None = None) -> list[PolicyProblem]:
    """What would go wrong paging with `policy` now: a loop, no levels, a level with nobody on call."""
    at = at or timezone.now()
    problems: list[PolicyProblem] = []
    try:
        policy_chain(policy)
    except ValidationError as loop:
        problems.append(PolicyProblem(None, loop.messages[0]))
    levels = list(policy.levels.all())
    if not levels:
        problems.append(PolicyProblem(None, "No levels: nobody would be paged."))
    for level in levels:
        if level.schedule is not None and oncall_at(schedule=level.schedule, at=at) is None:
            problems.append(
                PolicyProblem(level.position, f"Nobody is on call in {level.schedule.name} at {at:%Y-%m-%d %H:%M} UTC.")
            )
        if level.user is not None and not level.user.is_active:
            problems.append(PolicyProblem(level.position, f"{display_name(level.user)} can no longer sign in."))
    return problems


@transaction.atomic
def policy_add(*, severity: str, repeat_minutes: int = 5, by: User | None = None) -> EscalationPolicy:
    """An escalation policy for one severity (levels are added next); refused when that severity has one."""
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Unknown severity {severity!r}: one of {', '.join(Severity.values)}."})
    if not 1 <= repeat_minutes <= 1440:
        raise ValidationError({"repeat_minutes": "Re-notify every 1 to 1440 minutes."})
    if EscalationPolicy.objects.select_for_update(no_key=True).filter(severity=severity).exists():
        raise ValidationError({"severity": f"{severity} already has an escalation policy: add levels to it."})
    policy = EscalationPolicy.objects.create(severity=severity, repeat_minutes=repeat_minutes)
    _audit("paging.policy_added", by=by, obj=policy, payload={"severity": severity, "repeat_minutes": repeat_minutes})
    return policy


@transaction.atomic
def level_add(
    *,
    policy: EscalationPolicy,
    wait_minutes: int = 10,
    schedule: Schedule | None = None,
    user: User | None = None,
    then_policy: EscalationPolicy | None = None,
    nobody_on_call_ok: bool = False,
    by: User | None = None,
) -> EscalationLevel:
    """Append a level. Refused when it names no one (or more than one target), names a schedule with
    nobody on call now (unless `nobody_on_call_ok`: a layer starts later), a person who cannot sign in,
    or hands over in a way that loops."""
    locked = EscalationPolicy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    if sum(x is not None for x in (schedule, user, then_policy)) != 1:
        raise ValidationError("A level pages one schedule's on-call, one person, or hands over to one policy.")
    if not 1 <= wait_minutes <= 1440:
        raise ValidationError({"wait_minutes": "Wait 1 to 1440 minutes before the next level."})
    if schedule is not None and not nobody_on_call_ok:
        now = timezone.now()
        fresh = Schedule.objects.prefetch_related("layers", "overrides__user").get(pk=schedule.pk)
        if oncall_at(schedule=fresh, at=now) is None:
            raise ValidationError(
                {
                    "schedule": f"Nobody is on call in {schedule.name} now ({now:%Y-%m-%d %H:%M} UTC): "
                    "a page would reach no one. Add a layer first, or confirm a layer starts later."
                }
            )
    if user is not None and not user.is_active:
        raise ValidationError({"user": f"{display_name(user)} can no longer sign in."})
    if then_policy is not None and then_policy.pk == locked.pk:
        raise ValidationError({"then_policy": "A policy cannot hand over to itself: a page would go round for ever."})
    position = (locked.levels.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    level = locked.levels.create(
        position=position, wait_minutes=wait_minutes, schedule=schedule, user=user, then_policy=then_policy
    )
    if then_policy is not None:
        try:
            policy_chain(locked)
        except ValidationError as loop:  # the atomic block takes the level back
            raise ValidationError({"then_policy": loop.messages}) from None
    target: dict[str, Any] = {}
    if schedule is not None:
        target["schedule"] = schedule.team
    elif user is not None:
        target["user_id"] = user.pk
    elif then_policy is not None:
        target["then_policy"] = then_policy.severity
    _audit(
        "paging.level_added",
        by=by,
        obj=locked,
        payload={"severity": locked.severity, "position": position, "wait_minutes": wait_minutes, **target},
    )
    return level
