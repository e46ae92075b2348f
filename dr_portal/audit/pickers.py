"""What the Audit page offers to pick from: people, system actors, actions, incidents, time ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.models import AuditEvent
from dr_portal.audit.references import incident_choices, incident_labels, object_labels

PRESETS = (("Last hour", timedelta(hours=1)), ("Last 24 h", timedelta(days=1)), ("Last 7 days", timedelta(days=7)))


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def distinct_values(column: str) -> list[str]:
    """The distinct non-empty values of an indexed column of the log, in order, by a skip scan.

    `SELECT DISTINCT` reads every event (a million at a large estate) on each
    page view; this asks the column's index for the next value above the last
    one, once per distinct value, so its cost follows the number of values.
    """
    if column not in ("action", "system_actor"):  # each has an index that leads with it
        raise ValueError(column)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    name = connection.ops.quote_name(column)
    above, order = ">", name
    if connection.vendor == "postgresql" and column == "action":
        # Its index uses varchar_pattern_ops (for prefix filters): it serves byte-order operators only.
        above, order = "~>~", f"{name} USING ~<~"
    after = f"(SELECT {name} FROM {table} WHERE {name} {above} %s ORDER BY {order} LIMIT 1)"  # noqa: S608 - names above
    sql = (
        f"WITH RECURSIVE found(v) AS (SELECT {after}"  # noqa: S608
        f" UNION ALL SELECT {after.replace('%s', 'found.v')} FROM found WHERE found.v IS NOT NULL)"
        " SELECT v FROM found WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [""])
        return sorted(value for (value,) in cursor.fetchall())


def actor_options() -> list[Option]:
    people = [
        Option(u.username, u.get_full_name().strip() or u.username)
        for u in User.objects.order_by("first_name", "last_name", "username").only(
            "username", "first_name", "last_name"
        )
    ]
    # A system actor is recorded only where no person acted, so every non-empty value is one.
    systems = distinct_values("system_actor")
    return people + [Option(name, "system") for name in systems]


def action_options() -> list[Option]:
    actions = distinct_values("action")
    prefixes = sorted({a.split(".")[0] + "." for a in actions})
    return [Option(p, "every action of this area") for p in prefixes] + [Option(a, "") for a in actions]


def picker_context(*, rows: list[AuditEvent], query: Any) -> dict[str, Any]:
    """The datalists, the time-range shortcuts, and the INC-n and object references of the rows shown.

    The references are read in one query per kind of object on the page (RUN-n, an asset's name), never per row.
    """
    labels = incident_labels(e.incident_id for e in rows if e.incident_id)
    objects = object_labels((e.object_type, e.object_id) for e in rows)
    for event in rows:
        event.incident_label = labels.get(event.incident_id) if event.incident_id else None  # type: ignore[attr-defined]
        event.object_ref = objects.get((event.object_type, event.object_id))  # type: ignore[attr-defined]
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
