"""The audit page's pickers list the log's actions and system actors by a skip scan, not by reading every event."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dr_portal.audit.models import AuditEvent
from dr_portal.audit.pickers import action_options, actor_options, distinct_values
from dr_portal.audit.services import EventSpec, audit_append_many

pytestmark = pytest.mark.django_db


def append(action: str, system_actor: str, n: int) -> None:
    audit_append_many(
        events=[
            EventSpec(action=action, system_actor=system_actor, object_type="asset", object_id=str(k)) for k in range(n)
        ]
    )


def test_distinct_values_are_those_of_select_distinct(commander) -> None:
    append("backup.completed", "system:worker", 30)
    append("asset.created", "system:import", 3)
    append("zeta.ran", "system:beat", 1)
    expected = sorted(set(AuditEvent.objects.values_list("action", flat=True)))
    assert distinct_values("action") == expected
    assert distinct_values("system_actor") == sorted(
        set(AuditEvent.objects.exclude(system_actor="").values_list("system_actor", flat=True))
    )
    assert {"system:worker", "system:import", "system:beat"} <= {o.value for o in actor_options()}
    options = [o.value for o in action_options()]
    assert options[:3] == ["asset.", "backup.", "zeta."] and "zeta.ran" in options
    with pytest.raises(ValueError):
        distinct_values("payload")


def test_the_pickers_cost_one_query_each_however_long_the_log() -> None:
    append("backup.completed", "system:worker", 10)
    with CaptureQueriesContext(connection) as few:
        distinct_values("action")
    append("backup.completed", "system:worker", 2000)
    with CaptureQueriesContext(connection) as many:
        values = distinct_values("action")
    assert len(few) == len(many) == 1 and values == ["backup.completed"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_on_postgresql_each_step_is_an_index_probe() -> None:
    append("backup.completed", "system:worker", 50)
    for column, index in (("action", "audit_action_newest"), ("system_actor", "audit_system_actor_newest")):
        with CaptureQueriesContext(connection) as captured:
            distinct_values(column)
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")  # a tiny table would otherwise be read whole
            cursor.execute("EXPLAIN " + captured[0]["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
        assert index in plan, plan
