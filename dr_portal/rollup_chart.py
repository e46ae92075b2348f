"""A stacked bar per group (a tier, a team): how many of its assets are in breach, at risk and ok.

Drawn narrow on purpose (a label line above each bar), so it stays readable on a
phone without a second copy; shares the look and the SVG frame of `dr_portal.charts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString

from dr_portal.charts import COLOURS, _svg, svg_frame

# Status, colour and legend text, worst first (the order segments are drawn in).
PARTS = (("breach", "bad", "in breach"), ("at_risk", "risk", "at risk"), ("ok", "ok", "ok"))


@dataclass(frozen=True)
class StackRow:
    label: str
    counts: dict[str, int]  # keys of PARTS
    note: str = ""  # e.g. "score 72 avg, 40 lowest"
    href: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.get(key, 0) for key, _, _ in PARTS)


def _in_words(row: StackRow) -> str:
    parts = ", ".join(f"{row.counts.get(key, 0)} {words}" for key, _, words in PARTS)
    return f"{row.label}: {parts}" + (f"; {row.note}" if row.note else "")


def status_stack_chart(rows: Sequence[StackRow], *, title: str, width: int = 360) -> SafeString | None:
    """Each row's assets as one bar split by status (share of the group); None when there is nothing to draw."""
    rows = [r for r in rows if r.total > 0]
    if not rows:
        return None
    step, top = 42, 30
    height = top + step * len(rows) + 4
    legend = [
        _svg(
            '<rect x="{}" y="6" width="10" height="10" rx="2" fill="{}"/><text x="{}" y="15" font-size="11" '
            'fill="#1c2230">{}</text>',
            4 + 96 * i,
            COLOURS[tone],
            18 + 96 * i,
            words,
        )
        for i, (_, tone, words) in enumerate(PARTS)
    ]
    drawn = []
    for index, row in enumerate(rows):
        y = top + index * step
        label = _svg('<text x="4" y="{}" font-size="12" font-weight="600" fill="#1c2230">{}</text>', y + 11, row.label)
        if row.href:
            label = _svg('<a href="{}">{}</a>', row.href, label)
        segments, x = [], 4.0
        for key, tone, words in PARTS:
            count = row.counts.get(key, 0)
            if not count:
                continue
            length = (width - 8) * count / row.total
            segments.append(
                _svg(
                    '<rect x="{}" y="{}" width="{}" height="16" fill="{}"><title>{} {}</title></rect>{}',
                    round(x, 1),
                    y + 16,
                    round(length, 1),
                    COLOURS[tone],
                    count,
                    words,
                    _svg(
                        '<text x="{}" y="{}" font-size="11" fill="#fff" text-anchor="middle">{}</text>',
                        round(x + length / 2, 1),
                        y + 28,
                        count,
                    )
                    if length >= 18
                    else "",
                )
            )
            x += length
        drawn.append(
            _svg(
                '<g>{}<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5d6678">{}</text>{}</g>',
                label,
                width - 4,
                y + 11,
                row.note,
                SafeString("".join(segments)),
            )
        )
    desc = "; ".join(_in_words(r) for r in rows) + "."
    body = SafeString("".join(legend) + "".join(drawn))
    return svg_frame(width=width, height=height, title=title, desc=desc, body=body, css="chart chart-stack")
