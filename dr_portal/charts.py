"""Small inline-SVG charts shared by pages and PDF reports.

Only presentation attributes, never `style`: pages run under a CSP without
'unsafe-inline', and WeasyPrint renders the same markup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def _num(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return value


def _svg(template: str, *args: object) -> SafeString:
    """format_html with floats written short (SVG coordinates need no more)."""
    return format_html(template, *(_num(a) for a in args))


COLOURS = {"ok": "#17803d", "risk": "#d08700", "bad": "#b42318", "none": "#9aa3b2"}


def svg_frame(*, width: int, height: int, title: str, desc: str, body: SafeString, css: str = "chart") -> SafeString:
    """The <svg> around a chart: named by its title, described by `desc` (what the chart shows, in words)."""
    key = "c" + hashlib.sha1(f"{title}|{desc}|{width}".encode()).hexdigest()[:10]  # noqa: S324 - an id, not security
    if not desc:
        return _svg(
            '<svg class="{}" viewBox="0 0 {} {}" width="100%" role="img" aria-labelledby="{}-t" '
            'xmlns="http://www.w3.org/2000/svg"><title id="{}-t">{}</title>{}</svg>',
            css,
            width,
            height,
            key,
            key,
            title,
            body,
        )
    return _svg(
        '<svg class="{}" viewBox="0 0 {} {}" width="100%" role="img" aria-labelledby="{}-t" aria-describedby="{}-d" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}-t">{}</title><desc id="{}-d">{}</desc>{}</svg>',
        css,
        width,
        height,
        key,
        key,
        key,
        title,
        key,
        desc,
        body,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None draws no bar, only the note
    tone: str  # a key of COLOURS
    note: str = ""
    href: str = ""


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    markers: Sequence[tuple[float, str]] = (),
    cap: float | None = None,
    width: int = 720,
    row: int = 24,
    label_width: int = 190,
    note_width: int = 150,
    desc: str = "",
    css: str = "chart",
) -> SafeString:
    """A horizontal bar chart. Values above `cap` are drawn at the cap with an arrow.

    `markers` are vertical reference lines, e.g. [(1.0, "limit")].
    """
    values = [b.value for b in bars if b.value is not None]
    top = max([*values, *(m for m, _ in markers), 1e-9])
    if cap is not None:
        top = min(top, cap)
    # Long names widen the label column (up to 40 % of the width) rather than being cut.
    label_width = max(label_width, min(max((len(b.label) for b in bars), default=0) * 7 + 8, int(width * 0.4)))
    plot = width - label_width - note_width
    height = row * len(bars) + 28

    def x(value: float) -> float:
        return round(label_width + plot * min(value, top) / top, 1)

    rows = []
    for i, bar in enumerate(bars):
        y = 20 + i * row
        length = 0.0 if bar.value is None else max(1.5, x(bar.value) - label_width)
        over = bar.value is not None and bar.value > top
        fits = max(8, (label_width - 8) // 7)  # characters of 12 px text the label column holds
        label = bar.label if len(bar.label) <= fits else bar.label[: fits - 1] + "…"
        text = _svg(
            '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#1c2230">{}</text>',
            label_width - 8,
            y + row / 2 + 4,
            label,
        )
        if bar.href:
            text = _svg('<a href="{}">{}</a>', bar.href, text)
        if bar.value is None:
            # Nothing measured: said where the bar would start, not as an empty bar noted past the target.
            rows.append(
                _svg(
                    '<g><title>{}: {}</title>{}<text x="{}" y="{}" font-size="11" font-style="italic" '
                    'fill="#5d6678" class="unmeasured">— {}</text></g>',
                    bar.label,
                    bar.note,
                    text,
                    label_width + 4,
                    y + row / 2 + 4,
                    bar.note or "not measured",
                )
            )
            continue
        rows.append(
            _svg(
                '<g><title>{}: {}</title>{}<rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="{}"/>{}'
                '<text x="{}" y="{}" font-size="11" fill="#5d6678">{}</text></g>',
                bar.label,
                bar.note,
                text,
                label_width,
                y + 4,
                length,
                row - 8,
                COLOURS.get(bar.tone, COLOURS["none"]),
                _svg(
                    '<text x="{}" y="{}" font-size="12" fill="#fff">»</text>',
                    label_width + length - 10,
                    y + row / 2 + 4,
                )
                if over
                else "",
                label_width + plot + 8,
                y + row / 2 + 4,
                bar.note,
            )
        )
    lines = format_html_join(
        "",
        '<line x1="{0}" x2="{0}" y1="14" y2="{1}" stroke="#5d6678" stroke-dasharray="3 3"/>'
        '<text x="{0}" y="10" font-size="10" text-anchor="middle" fill="#5d6678">{2}</text>',
        ((_num(x(value)), height - 6, name) for value, name in markers if value <= top),
    )
    body = SafeString("".join(rows) + lines)
    return svg_frame(width=width, height=height, title=title, desc=desc, body=body, css=css)


@dataclass(frozen=True)
class Node:
    label: str
    tone: str = "none"
    href: str = ""


def neighbour_graph(*, centre: Node, left: Sequence[Node], right: Sequence[Node], title: str) -> SafeString:
    """Three columns: what feeds `centre` on the left, what it feeds on the right, arrows between."""
    box_w, box_h, gap, width = 170, 30, 12, 640
    rows = max(len(left), len(right), 1)
    height = rows * (box_h + gap) + gap
    cx, lx, rx = (width - box_w) / 2, 8, width - box_w - 8

    def column_y(count: int, index: int) -> float:
        top = (height - (count * (box_h + gap) - gap)) / 2
        return top + index * (box_h + gap)

    def box(node: Node, x: float, y: float, strong: bool = False) -> SafeString:
        label = node.label if len(node.label) <= 22 else node.label[:21] + "…"
        inner = _svg(
            '<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="{}" stroke="{}" stroke-width="{}"/>'
            '<text x="{}" y="{}" font-size="12" text-anchor="middle" fill="#1c2230"{}>{}</text>',
            x,
            y,
            box_w,
            box_h,
            "#eef3fc" if strong else "#fff",
            COLOURS.get(node.tone, COLOURS["none"]),
            3 if strong else 2,
            x + box_w / 2,
            y + box_h / 2 + 4,
            SafeString(' font-weight="600"') if strong else "",
            label,
        )
        inner = _svg("<g><title>{}</title>{}</g>", node.label, inner)
        return _svg('<a href="{}">{}</a>', node.href, inner) if node.href else inner

    cy = column_y(1, 0)
    parts = [box(centre, cx, cy, strong=True)]
    for i, node in enumerate(left):
        y = column_y(len(left), i)
        parts.append(
            _svg(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#9aa3b2" marker-end="url(#arrow)"/>',
                lx + box_w,
                y + box_h / 2,
                cx - 2,
                cy + box_h / 2,
            )
        )
        parts.append(box(node, lx, y))
    for i, node in enumerate(right):
        y = column_y(len(right), i)
        parts.append(
            _svg(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#9aa3b2" marker-end="url(#arrow)"/>',
                cx + box_w,
                cy + box_h / 2,
                rx - 2,
                y + box_h / 2,
            )
        )
        parts.append(box(node, rx, y))
    defs = SafeString(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9aa3b2"/></marker></defs>'
    )
    return _svg(
        '<svg class="chart graph" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}{}</svg>',
        width,
        height,
        title,
        title,
        defs,
        SafeString("".join(parts)),
    )


# --- Report charts: measured value against its target ------------------------------
# Used by the readiness and incident reports (PDF) and usable on pages alike.


@dataclass(frozen=True)
class Measured:
    """One row of an "achieved vs target" chart. `achieved` None means not measured."""

    label: str
    achieved: timedelta | None
    target: timedelta | None
    href: str = ""


def short_duration(value: timedelta) -> str:
    """3d 4h, 2h 05m, 12m, 40s: short enough for a chart note."""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _measured_bars(items: Sequence[Measured], *, warn_at: float, missing: str) -> list[Bar]:
    bars = []
    for item in items:
        if item.target is None or item.target.total_seconds() <= 0:
            bars.append(Bar(item.label, None, "none", "no target", item.href))
            continue
        if item.achieved is None:
            bars.append(Bar(item.label, None, "bad", missing, item.href))
            continue
        ratio = item.achieved / item.target
        tone = "ok" if ratio <= warn_at else "risk" if ratio <= 1.0 else "bad"
        note = f"{short_duration(item.achieved)} / {short_duration(item.target)}"
        bars.append(Bar(item.label, ratio, tone, note, item.href))
    return bars


def achieved_vs_target_chart(
    items: Sequence[Measured], *, title: str = "Achieved as a share of target", cap: float = 2.0, **size: Any
) -> SafeString:
    """RTO or RPO achieved in a run or drill as a share of its target (1.0 = on target); `size` as `bar_chart`'s."""
    bars = _measured_bars(items, warn_at=1.0, missing="not measured")
    return bar_chart(bars, title=title, markers=[(1.0, "target")], cap=cap, **size)


def backup_age_vs_rpo_chart(
    items: Sequence[Measured],
    *,
    title: str = "Newest good backup age as a share of RPO",
    cap: float = 2.0,
    **size: Any,
) -> SafeString:
    """Age of each asset's newest good backup against its RPO, amber from 80 % of it; `size` as `bar_chart`'s."""
    bars = _measured_bars(items, warn_at=0.8, missing="no good backup")
    return bar_chart(bars, title=title, markers=[(0.8, "80 %"), (1.0, "RPO")], cap=cap, **size)


# --- Trend: one value per day over a window -----------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[date, float]]  # oldest first; missing days are gaps in the line
    tone: str = "ok"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    end: date,
    days: int = 90,
    top: float = 100.0,
    width: int = 720,
    height: int = 200,
    guides: Sequence[float] = (50, 80),
    desc: str = "",
    css: str = "chart",
) -> SafeString:
    """Daily values of one or more series over the last `days` days, from 0 to `top`."""
    left, right, upper, lower = 34, 110, 14, 24
    plot_w, plot_h = width - left - right, height - upper - lower
    start = end - timedelta(days=days - 1)

    def xy(day: date, value: float) -> tuple[float, float]:
        x = left + plot_w * max(0, (day - start).days) / max(1, days - 1)
        y = upper + plot_h * (1 - min(max(value, 0), top) / top)
        return round(x, 1), round(y, 1)

    parts = [
        _svg(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d5dae3"/><text x="{}" y="{}" font-size="10" '
            'text-anchor="end" fill="#5d6678">{}</text>',
            left,
            left + plot_w,
            xy(start, g)[1],
            xy(start, g)[1],
            left - 4,
            xy(start, g)[1] + 3,
            _num(float(g)),
        )
        for g in (0, *guides, top)
    ]
    parts.append(
        _svg(
            '<text x="{}" y="{}" font-size="10" fill="#5d6678">{}</text>'
            '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#5d6678">{}</text>',
            left,
            height - 6,
            start.strftime("%d %b"),
            left + plot_w,
            height - 6,
            end.strftime("%d %b"),
        )
    )
    for index, one in enumerate(series):
        colour = COLOURS.get(one.tone, COLOURS["none"])
        runs: list[list[tuple[float, float]]] = []
        previous: date | None = None
        for day, value in one.points:
            if day < start or day > end:
                continue
            if previous is None or (day - previous).days > 1:
                runs.append([])
            runs[-1].append(xy(day, value))
            previous = day
        for run in runs:
            if len(run) == 1:
                parts.append(_svg('<circle cx="{}" cy="{}" r="2.5" fill="{}"/>', run[0][0], run[0][1], colour))
            else:
                path = " ".join(f"{_num(x)},{_num(y)}" for x, y in run)
                parts.append(_svg('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>', path, colour))
        if one.points:
            last = one.points[-1]
            parts.append(
                _svg(
                    '<text x="{}" y="{}" font-size="11" fill="{}">{}: {}</text>',
                    left + plot_w + 6,
                    upper + 12 + 14 * index,
                    colour,
                    one.label[:14],
                    _num(float(last[1])),
                )
            )
    return svg_frame(width=width, height=height, title=title, desc=desc, body=SafeString("".join(parts)), css=css)
