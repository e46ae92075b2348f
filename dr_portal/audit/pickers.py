"""What the Audit page offers to pick from: people, system actors, actions, incidents, time ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.references import incident_choices, incident_labels

PRESETS = (("Last hour", timedelta(hours=1)), ("Last 24 h", timedelta(days=1)), ("Last 7 days", timedelta(days=7)))


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def actor_options() -> list[Option]:
    people = [
        Option(u.username, u.get_full_name().strip() or u.username)
        for u in User.objects.order_by("first_name", "last_name", "username").only(
            "username", "first_name", "last_name"
        )
    ]
    systems = (
        AuditEvent.objects.filter(actor__isnull=True)
        .exclude(system_actor="")
        .order_by("system_actor")
        .values_list("system_actor", flat=True)
        .distinct()
    )
    return people + [Option(name, "system") for name in systems]


def action_options() -> list[Option]:
    actions = list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
    prefixes = sorted({a.split(".")[0] + "." for a in actions})
    return [Option(p, "every action of this area") for p in prefixes] + [Option(a, "") for a in actions]


def picker_context(*, rows: list[AuditEvent], query: Any) -> dict[str, Any]:
    """The datalists, the time-range shortcuts, and INC-n labels for the rows shown."""
    labels = incident_labels(e.incident_id for e in rows if e.incident_id)
    for event in rows:
        event.incident_label = labels.get(event.incident_id) if event.incident_id else None  # type: ignore[attr-defined]
    now = timezone.now()
    presets = []
    for label, span in PRESETS:
        params = query.copy()
        params["since"] = (now - span).strftime("%Y-%m-%dT%H:%M")
        params.pop("until", None)
        presets.append((label, params.urlencode()))
    return {
        "actor_options": actor_options(),
        "action_options": action_options(),
        "incident_options": [Option(ref, title) for ref, title in incident_choices()],
        "presets": presets,
    }
