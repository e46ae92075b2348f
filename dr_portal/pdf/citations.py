"""Every audit seq a report cites must be an event in the chain, sealed by the report's anchor.

A report cites events in three ways: a fact's `seq` (printed "[seq n]"), a table column named
"Seq", and "seq n" inside a printed value ("drill recorded, seq 41"). The timeline's events are
already listed with their hashes; the others are collected here, looked up, and written to
evidence.json (`audit.citations`, seq and hash) so report_verify re-checks them like the timeline.
A citation that names no event, or one newer than the anchoring checkpoint, stops the build.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dr_portal.audit.models import AuditEvent

if TYPE_CHECKING:
    from dr_portal.pdf.document import ReportDocument

_SEQ_IN_TEXT = re.compile(r"\bseq (\d+)\b")


class CitationError(Exception):
    """The report cites an audit seq the chain does not hold (or its anchor does not seal)."""


def _from_value(value: Any) -> set[int]:
    if isinstance(value, str):
        return {int(m) for m in _SEQ_IN_TEXT.findall(value)}
    return set()


def cited_seqs(doc: ReportDocument) -> set[int]:
    found: set[int] = set()
    for section in doc.sections:
        for f in section.fields:
            if f.seq is not None:
                found.add(f.seq)
            found |= _from_value(f.value)
        for table in section.tables:
            seq_columns = [i for i, name in enumerate(table.columns) if name.strip().lower() == "seq"]
            for row in table.rows:
                for i, cell in enumerate(row):
                    if i in seq_columns and isinstance(cell, int):
                        found.add(cell)
                    found |= _from_value(cell)
    return found


def citation_refs(doc: ReportDocument) -> list[dict[str, Any]]:
    """seq and hash of every cited event outside the timeline; CitationError if any is not in the chain."""
    listed = {e.seq for e in doc.events}
    if doc.anchor is not None:
        listed.add(doc.anchor.seq)  # the anchoring checkpoint's head: report_verify checks it on its own
    wanted = sorted(cited_seqs(doc) - listed)
    found = dict(AuditEvent.objects.filter(seq__in=wanted).values_list("seq", "hash")) if wanted else {}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise CitationError(f"the report cites audit seq {', '.join(map(str, missing))}, which the log does not hold")
    if doc.anchor is not None:
        late = [s for s in wanted if s > doc.anchor.seq]
        if late:
            raise CitationError(
                f"the report cites audit seq {', '.join(map(str, late))}, newer than its anchor (seq {doc.anchor.seq})"
            )
    return [{"seq": s, "hash": found[s]} for s in wanted]
