"""How much of a report's checklist is filled: every fact either present or explicitly not applicable, with why.

COMPLIANCE.md asks that a missing fact be printed, never left out; a report a
compliance officer can file has none left. `document_gaps()` lists the ones
still open, by section and label, so a test (or a person) can see what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dr_portal.pdf.document import ReportDocument

# Values that say "nobody gave this fact yet"; "not applicable — reason" is an answer, not a gap.
OPEN_WORDS = ("not recorded", "not yet assessed", "not yet notified", "not assessed", "under investigation")


@dataclass(frozen=True)
class Gap:
    section: str
    item: str
    value: str

    def __str__(self) -> str:
        return f"{self.section}: {self.item} ({self.value})"


def is_open(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, str) and value.strip().lower().startswith(OPEN_WORDS)


def document_gaps(doc: ReportDocument) -> list[Gap]:
    """Every field and table cell of the report that is still missing."""
    gaps: list[Gap] = []
    for section in doc.sections:
        for f in section.fields:
            if is_open(f.value):
                gaps.append(Gap(section.title, f.label, str(f.value or "missing")))
        for table in section.tables:
            for row in table.rows:
                for column, cell in zip(table.columns, row, strict=False):
                    if is_open(cell):
                        gaps.append(Gap(section.title, f"{table.title} / {row[0]} / {column}", str(cell or "missing")))
    return gaps


def document_filled(doc: ReportDocument) -> tuple[int, int]:
    """(facts present or not applicable, all facts): the checklist figure a report can be judged by."""
    total = sum(len(s.fields) + sum(len(r) for t in s.tables for r in t.rows) for s in doc.sections)
    return total - len(document_gaps(doc)), total
