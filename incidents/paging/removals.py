"""Taking paging set-up away: a schedule, a layer, an override, an escalation policy or one of its levels.

One service per action, each audited in its transaction. A removal is refused (ValidationError) when it
would leave an open page reaching no one, or a policy pointing nowhere.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from dr_portal.accounts.models import User
from dr_portal.accounts.people import display_name
from incidents.paging.models import EscalationLevel, EscalationPolicy, Layer, Override, Page, PageStatus, Schedule
from incidents.paging.schedules import _audit, oncall_at


def _open_pages(**filters: object) -> list[str]:
    """References of the incidents with an open (unacknowledged) page matching `filters`."""
    pages = Page.objects.filter(status=PageStatus.TRIGGERED, **filters).select_related("incident")
    return sorted({p.incident.reference for p in pages})


def _still_reaches_someone(schedule: Schedule, what: str) -> None:
    """After a layer or override is gone: an open page paging this schedule must still reach its on-call."""
    policies = EscalationLevel.objects.filter(schedule=schedule).values_list("policy", flat=True)
    waiting = sorted(set(_open_pages(policy__in=policies)) | set(_open_pages(team=schedule.team)))
    if not waiting:
        return
    fresh = Schedule.objects.prefetch_related("layers", "overrides__user").get(pk=schedule.pk)
    if oncall_at(schedule=fresh) is None:
        raise ValidationError(
            f"{what} would leave nobody on call in {schedule.name} while {', '.join(waiting)} "
            "waits for an acknowledgement. Add cover first (an override), or acknowledge the page."
        )


@transaction.atomic
def schedule_delete(*, schedule: Schedule, by: User | None = None) -> None:
    """Refused while a level pages it or an open page is for its team."""
    locked = Schedule.objects.select_for_update(no_key=True).get(pk=schedule.pk)
    used_by = sorted(
        {lv.policy.severity for lv in EscalationLevel.objects.filter(schedule=locked).select_related("policy")}
    )
    if used_by:
        which = (
            f"The {used_by[0]} escalation policy pages"
            if len(used_by) == 1
            else (f"The {', '.join(used_by)} escalation policies page")
        )
        raise ValidationError(
            f"{which} {locked.name}: remove or change those levels first, or a policy would point nowhere."
        )
    waiting = _open_pages(team=locked.team)
    if waiting:
        raise ValidationError(f"{', '.join(waiting)} is paging team {locked.team} now: acknowledge it first.")
    payload = {"team": locked.team, "name": locked.name}
    _audit("paging.schedule_deleted", by=by, obj=locked, payload=payload)
    locked.delete()


@transaction.atomic
def layer_delete(*, layer: Layer, by: User | None = None) -> None:
    schedule = Schedule.objects.select_for_update(no_key=True).get(pk=layer.schedule_id)
    name = layer.name
    Layer.objects.filter(pk=layer.pk).delete()
    _still_reaches_someone(schedule, f"Removing layer “{name}”")
    _audit("paging.layer_deleted", by=by, obj=schedule, payload={"team": schedule.team, "layer": name})


@transaction.atomic
def override_delete(*, override: Override, by: User | None = None) -> None:
    schedule = Schedule.objects.select_for_update(no_key=True).get(pk=override.schedule_id)
    who = display_name(override.user)
    payload = {
        "team": schedule.team,
        "user_id": override.user_id,
        "starts_at": override.starts_at.isoformat(),
        "ends_at": override.ends_at.isoformat(),
    }
    Override.objects.filter(pk=override.pk).delete()
    _still_reaches_someone(schedule, f"Removing the override of {who}")
    _audit("paging.override_deleted", by=by, obj=schedule, payload=payload)


@transaction.atomic
def policy_delete(*, policy: EscalationPolicy, by: User | None = None) -> None:
    """Refused while one of its pages is open or another policy hands over to it."""
    locked = EscalationPolicy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    waiting = _open_pages(policy=locked)
    if waiting:
        raise ValidationError(f"{', '.join(waiting)} is being paged with this policy: acknowledge it first.")
    handing = sorted(
        {lv.policy.severity for lv in EscalationLevel.objects.filter(then_policy=locked).select_related("policy")}
    )
    if handing:
        raise ValidationError(
            f"The {', '.join(handing)} policy hands over to {locked.severity}: remove that level first, "
            "or it would point nowhere."
        )
    _audit("paging.policy_deleted", by=by, obj=locked, payload={"severity": locked.severity})
    locked.delete()


@transaction.atomic
def level_delete(*, level: EscalationLevel, by: User | None = None) -> None:
    """Later levels move up one. Refused for the only level (the policy would page no one) and while a page
    with this policy is open (its level number would change under it)."""
    policy = EscalationPolicy.objects.select_for_update(no_key=True).get(pk=level.policy_id)
    if policy.levels.count() == 1:
        raise ValidationError(
            f"Level {level.position} is the {policy.severity} policy's only level: without it nobody would be paged. "
            "Add another level first, or delete the policy."
        )
    waiting = _open_pages(policy=policy)
    if waiting:
        raise ValidationError(f"{', '.join(waiting)} is being paged with this policy: acknowledge it first.")
    position = level.position
    EscalationLevel.objects.filter(pk=level.pk).delete()
    for later in policy.levels.filter(position__gt=position).order_by("position"):  # one by one: positions are unique
        EscalationLevel.objects.filter(pk=later.pk).update(position=F("position") - 1)
    _audit("paging.level_deleted", by=by, obj=policy, payload={"severity": policy.severity, "position": position})
