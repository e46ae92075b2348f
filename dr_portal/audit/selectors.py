"""Reading the audit log: filtered events, the latest verification and checkpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from dr_portal.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from dr_portal.audit.references import incident_id_from


def events_base() -> QuerySet[AuditEvent]:
    """Events with their personal data, newest first."""
    return AuditEvent.objects.select_related("personal").order_by("-seq")


class _LocalDateTime(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class AuditFilterForm(forms.Form):
    """Says which filter is wrong rather than showing an empty page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, options in (
            ("actor", "actor-options"),
            ("action", "action-options"),
            ("incident", "incident-options"),
        ):
            if name in self.fields:
                self.fields[name].widget.attrs.update({"list": options, "autocomplete": "off"})

    def clean_incident(self) -> str:
        value = str(self.cleaned_data.get("incident") or "").strip()
        if value and incident_id_from(value) is None:
            raise forms.ValidationError(f"No incident {value}: use a reference such as INC-12.")
        return value


class AuditEventFilter(django_filters.FilterSet):
    """One set of filters for the Audit page and the API."""

    actor = django_filters.CharFilter(method="filter_actor", label="Actor", help_text="A username or system name.")
    action = django_filters.CharFilter(
        method="filter_action", label="Action", help_text="Exact, or a prefix ending in '.' such as 'incident.'."
    )
    object_type = django_filters.CharFilter(label="Object type")
    object_id = django_filters.CharFilter(label="Object id")
    incident = django_filters.CharFilter(
        method="filter_incident", label="Incident", help_text="A reference such as INC-12 or DRL-3, or an id."
    )
    since = django_filters.DateTimeFilter(
        field_name="recorded_at", lookup_expr="gte", label="From (UTC)", widget=_LocalDateTime()
    )
    until = django_filters.DateTimeFilter(
        field_name="recorded_at", lookup_expr="lt", label="Until (UTC)", widget=_LocalDateTime()
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditFilterForm

    def filter_actor(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        value = value.strip()
        # One indexed column per kind of actor: a username cannot contain ':', a system name always does.
        if value.startswith("system:"):
            # The system name alone: `audit_append` records one only where no person acted. Adding
            # `actor IS NULL` let the planner AND two bitmaps, one of them nearly the whole log (a
            # million entries, 120 ms), instead of reading the newest 50 from the (system_actor, seq) index.
            return queryset.filter(system_actor=value)
        user_id = get_user_model().objects.filter(username=value).values_list("pk", flat=True).first()
        return queryset.filter(actor_id=user_id) if user_id is not None else queryset.none()

    def filter_incident(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        found = incident_id_from(value)
        return queryset.filter(incident_id=found) if found else queryset.none()

    def filter_action(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        value = value.strip()
        if value.endswith((".", "*")):
            return queryset.filter(action__startswith=value.rstrip("*"))
        return queryset.filter(action=value)


def events_filtered(*, params: Any) -> tuple[AuditEventFilter, QuerySet[AuditEvent]]:
    """The filter (for its form and errors) and the matching events; invalid filters match nothing."""
    filterset = AuditEventFilter(params, queryset=events_base())
    if not filterset.is_valid():
        return filterset, events_base().none()
    return filterset, filterset.qs


def event_page(
    *, events: QuerySet[AuditEvent], before: int | None, after: int | None, size: int
) -> tuple[list[AuditEvent], int | None, int | None]:
    """One page, newest first, by seq keyset: (events, seq for 'older', seq for 'newer')."""
    if after is not None:
        rows = list(events.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        older = rows[-1].seq if rows and events.filter(seq__lt=rows[-1].seq).exists() else None
        return rows, older, rows[0].seq if rows and has_newer else None
    scoped = events.filter(seq__lt=before) if before is not None else events
    rows = list(scoped[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    newer = rows[0].seq if rows and before is not None and events.filter(seq__gt=rows[0].seq).exists() else None
    return rows, rows[-1].seq if rows and has_older else None, newer


def latest_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-finished_at").first()


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq").first()


def head_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- a period, as the readiness report reads it ------------------------------------------


def _recorded_between(start: datetime, end: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(recorded_at__gte=start, recorded_at__lt=end)


def event_first_seq_between(*, start: datetime, end: datetime) -> int | None:
    """The seq of the first event recorded in [start, end), or None when nothing was."""
    seq: int | None = _recorded_between(start, end).order_by("seq").values_list("seq", flat=True).first()
    return seq


def event_count_between(*, start: datetime, end: datetime) -> int:
    return _recorded_between(start, end).count()


def event_areas_between(*, start: datetime, end: datetime) -> Counter[str]:
    """Events recorded in [start, end) by area: the action's first word (`backup`, `incident`, …)."""
    return Counter(a.split(".")[0] for a in _recorded_between(start, end).values_list("action", flat=True))


def events_of_action_between(*, action: str, start: datetime, end: datetime) -> list[AuditEvent]:
    """Events of one action recorded in [start, end), oldest first."""
    return list(_recorded_between(start, end).filter(action=action).order_by("seq"))


def verifications_finished_between(*, start: datetime, end: datetime) -> list[AuditVerification]:
    """audit_verify runs that finished in [start, end), oldest first."""
    return list(AuditVerification.objects.filter(finished_at__gte=start, finished_at__lt=end).order_by("finished_at"))


def checkpoint_count_between(*, start: datetime, end: datetime) -> int:
    return AuditCheckpoint.objects.filter(signed_at__gte=start, signed_at__lt=end).count()


def events_newest_per_object(
    *, object_type: str, object_ids: Collection[str], actions: Collection[str]
) -> dict[str, AuditEvent]:
    """The newest event of one of ``actions`` on each of these objects, by object id (absent: none recorded)."""
    events = AuditEvent.objects.filter(object_type=object_type, object_id__in=object_ids, action__in=actions)
    newest: dict[str, AuditEvent] = {}
    for event in events.order_by("seq"):
        newest[event.object_id] = event
    return newest
