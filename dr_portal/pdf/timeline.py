"""The printed timeline: one row per audit event, except runs of the same automatic event, which print as one
counted row (evidence.json still carries every event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dr_portal.pdf.document import EventRef

TIMELINE_GROUP_MIN = 3  # this many automatic events in a row, same action and actor, print as one counted row


@dataclass(frozen=True)
class TimelineRow:
    """A printed timeline row: one event, or a run of the same automatic event (`count` > 1, seq first..last)."""

    first: EventRef
    last: EventRef
    count: int = 1

    @property
    def seq(self) -> str:
        return str(self.first.seq) if self.count == 1 else f"{self.first.seq}..{self.last.seq}"

    @property
    def summary(self) -> str:
        if self.count == 1:
            return self.first.summary
        until = self.last.recorded_at[:19]
        return f"{self.count} times until {until} (each in evidence.json); first: {self.first.summary}".strip()


def is_automatic(event: EventRef) -> bool:
    """Recorded by the system (beat, a worker, intake), not by a signed-in person (whose label carries '(#id)')."""
    return "(#" not in event.actor


def timeline_rows(events: list[EventRef]) -> list[TimelineRow]:
    """Group runs of the same automatic event (same action and actor) so a report shows a count, not 200 rows."""
    rows: list[TimelineRow] = []
    run: list[EventRef] = []

    def flush() -> None:
        if len(run) >= TIMELINE_GROUP_MIN:
            rows.append(TimelineRow(run[0], run[-1], len(run)))
        else:
            rows.extend(TimelineRow(e, e) for e in run)
        run.clear()

    for event in events:
        if run and not (is_automatic(event) and event.action == run[0].action and event.actor == run[0].actor):
            flush()
        run.append(event)
    flush()
    return rows
