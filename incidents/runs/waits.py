"""How long a run waited for people: the time its steps spent waiting for approval, overlaps counted once."""

from __future__ import annotations

from datetime import datetime

from incidents.runs.models import RecoveryRun


def run_approval_wait_seconds(run: RecoveryRun) -> int | None:
    """Seconds during which at least one step of the run waited for its approvals; None if none asked.

    A step's wait runs from its (latest) request to the decision that settled it: the last approval
    of that round, a rejection, or the step's end when the request expired.
    """
    spans: list[tuple[datetime, datetime]] = []
    steps = list(run.steps.filter(approval_requested_at__isnull=False).prefetch_related("approvals"))
    if not steps:
        return None
    for step in steps:
        asked = step.approval_requested_at
        assert asked is not None
        decided = [a.created_at for a in step.approvals.all() if a.created_at >= asked]
        end = max(decided) if decided else step.finished_at
        if end is not None and end > asked:
            spans.append((asked, end))
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return int(total)
