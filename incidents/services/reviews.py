"""Action items and the post-incident review with its sign-off."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.models import ActionItem, ActionKind, ActionStatus, Incident, IncidentStatus, Review
from incidents.services.common import IncidentRefused, lock, record, refuse_if_closed
from incidents.services.lifecycle import active_commander

REVIEW_FIELDS = frozenset({"root_cause", "contributing_factors", "went_well", "went_badly"})
# An action item may be reopened; "done" and "dropped" are both ways of closing it.
ITEM_TRANSITIONS = {
    ActionStatus.OPEN: (ActionStatus.DONE, ActionStatus.DROPPED),
    ActionStatus.DONE: (ActionStatus.OPEN,),
    ActionStatus.DROPPED: (ActionStatus.OPEN,),
}


@transaction.atomic
def action_item_add(
    *,
    incident: Incident,
    title: str,
    kind: str,
    owner: User,
    by: User,
    critical: bool = False,
    due_on: date | None = None,
) -> ActionItem:
    locked = lock(incident)
    refuse_if_closed(locked, "add follow-up work to a new incident or reopen this one")
    title = title.strip()
    if not title:
        raise IncidentRefused("An action item needs a title.")
    if kind not in ActionKind.values:
        raise IncidentRefused("An action item is corrective or preventive.")
    if not owner.is_active:
        raise IncidentRefused(f"{owner.username}'s account is disabled; choose an active owner.")
    item = ActionItem.objects.create(
        incident=locked, title=title, kind=kind, critical=critical, owner=owner, due_on=due_on, created_by=by
    )
    record(
        locked,
        "action_item.added",
        by=by,
        obj=item,
        payload={
            "title": title,
            "kind": kind,
            "critical": critical,
            "owner": owner.username,
            "due_on": due_on.isoformat() if due_on else None,
        },
    )
    return item


@transaction.atomic
def action_item_set_status(*, item: ActionItem, status: str, by: User) -> ActionItem:
    locked = ActionItem.objects.select_for_update(of=("self",), no_key=True).select_related("incident").get(pk=item.pk)
    if status not in ActionStatus.values:
        raise IncidentRefused(f"Unknown status {status!r}.")
    if status not in ITEM_TRANSITIONS[ActionStatus(locked.status)]:
        raise IncidentRefused(f"This action item is already {locked.status}.")
    if status == ActionStatus.OPEN:
        refuse_if_closed(locked.incident, "its action items cannot be reopened")
    previous = locked.status
    locked.status = status
    locked.closed_at = None if status == ActionStatus.OPEN else timezone.now()
    locked.save(update_fields=["status", "closed_at"])
    record(
        locked.incident,
        "action_item.status_changed",
        by=by,
        obj=locked,
        payload={"title": locked.title, "from": previous, "to": status},
    )
    return locked


@transaction.atomic
def review_save(*, incident: Incident, changes: Mapping[str, str], by: User) -> Review:
    locked = lock(incident)
    unknown = set(changes) - REVIEW_FIELDS
    if unknown:
        raise IncidentRefused(f"Cannot change {', '.join(sorted(unknown))} in a review.")
    review, _ = Review.objects.select_for_update(no_key=True).get_or_create(incident=locked)
    if review.is_signed_off:
        raise IncidentRefused("The review is signed off; it can no longer change.")
    changed = [name for name, value in changes.items() if getattr(review, name) != value.strip()]
    if not changed:
        return review
    for name in changed:
        setattr(review, name, changes[name].strip())
    review.updated_by, review.updated_at = by, timezone.now()
    review.save(update_fields=[*changed, "updated_by", "updated_at"])
    record(locked, "review.updated", by=by, payload={name: getattr(review, name) for name in changed})
    return review


@transaction.atomic
def review_sign_off(*, incident: Incident, by: User) -> Review:
    """Only the incident's own commander signs, once it is resolved, and only a review with a root cause."""
    locked = lock(incident)
    if locked.status not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        raise IncidentRefused("Sign the review off once the incident is resolved.")
    commander = active_commander(locked)
    if commander is None or commander.user_id != by.pk:
        holder = commander.user.username if commander else "nobody"
        raise IncidentRefused(f"Only the incident commander ({holder}) can sign the review off.")
    review = Review.objects.select_for_update(no_key=True).filter(incident=locked).first()
    if review is None or not review.root_cause.strip():
        raise IncidentRefused("Write down the root cause before signing the review off.")
    if review.is_signed_off:
        raise IncidentRefused("The review is already signed off.")
    review.signed_off_by, review.signed_off_at = by, timezone.now()
    review.save(update_fields=["signed_off_by", "signed_off_at"])
    record(locked, "review.signed_off", by=by, payload={"root_cause": review.root_cause})
    return review
