"""Achieved against target over time: each measurement a dot at its date, as a share of its target.

Shared by pages and PDF reports like `dr_portal.charts` (presentation attributes only, no `style`).
The target is the dashed 100 % line; dots above it missed the target and are ringed in red.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.safestring import SafeString

from dr_portal.charts import COLOURS, _num, _svg, short_duration, svg_frame

# Series colours that are not status colours: a dot's colour says which measure, its ring says missed.
SERIES_COLOURS = {"RTO": "#1f5fbf", "RPO": "#6b3fa0"}


@dataclass(frozen=True)
class Reading:
    at: datetime
    achieved: timedelta
    target: timedelta

    @property
    def share(self) -> float:
        return self.achieved / self.target


@dataclass(frozen=True)
class TargetSeries:
    label: str  # "RTO" or "RPO"
    readings: Sequence[Reading]  # oldest first


def in_words(series: Sequence[TargetSeries]) -> str:
    """What the chart shows, said in words: per measure, how many readings met the target, the newest and worst."""
    parts = []
    for one in series:
        if not one.readings:
            parts.append(f"{one.label}: not measured")
            continue
        met = sum(1 for r in one.readings if r.share <= 1.0)
        last = one.readings[-1]
        worst = max(one.readings, key=lambda r: r.share)
        parts.append(
            f"{one.label}: {met} of {len(one.readings)} within target; newest {short_duration(last.achieved)} "
            f"against {short_duration(last.target)} on {last.at:%Y-%m-%d}; worst {round(worst.share * 100)} % "
            f"of target on {worst.at:%Y-%m-%d}"
        )
    return "; ".join(parts) + "."


def target_history_chart(
    series: Sequence[TargetSeries],
    *,
    title: str,
    end: datetime,
    days: int = 90,
    cap: float = 2.0,
    width: int = 720,
    height: int = 200,
    css: str = "chart",
) -> SafeString | None:
    """Each reading of each series over the last `days` days, as a share of its target (1.0 = on target).

    None when no series has a reading in the window: the caller says so in words (not measured is not met).
    """
    start = end - timedelta(days=days)
    shown = [TargetSeries(s.label, [r for r in s.readings if start <= r.at <= end]) for s in series]
    if not any(s.readings for s in shown):
        return None
    small = width < 500
    left, right, upper, lower = 40, 16, 26, 24
    plot_w, plot_h = width - left - right, height - upper - lower
    font = 13 if small else 11

    def xy(at: datetime, share: float) -> tuple[float, float]:
        x = left + plot_w * (at - start).total_seconds() / (end - start).total_seconds()
        y = upper + plot_h * (1 - min(max(share, 0.0), cap) / cap)
        return round(x, 1), round(y, 1)

    parts = []
    for share, label in ((0.0, "0"), (1.0, "100 %"), (cap, f"{round(cap * 100)} %")):
        y = xy(start, share)[1]
        dash = ' stroke-dasharray="5 4" stroke="#1c2230"' if share == 1.0 else ' stroke="#d5dae3"'
        parts.append(
            _svg(
                '<line x1="{}" x2="{}" y1="{}" y2="{}"' + dash + '/><text x="{}" y="{}" font-size="{}" '
                'text-anchor="end" fill="#5d6678">{}</text>',
                left,
                left + plot_w,
                y,
                y,
                left - 4,
                y + 3,
                font - 1,
                label,
            )
        )
    parts.append(
        _svg(
            '<text x="{}" y="{}" font-size="{}" fill="#5d6678">{}</text>'
            '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="#5d6678">{}</text>',
            left,
            height - 6,
            font - 1,
            start.strftime("%Y-%m-%d"),
            left + plot_w,
            height - 6,
            font - 1,
            end.strftime("%Y-%m-%d"),
        )
    )
    for index, one in enumerate(shown):
        colour = SERIES_COLOURS.get(one.label, COLOURS["none"])
        parts.append(
            _svg(
                '<circle cx="{}" cy="9" r="5" fill="{}"/><text x="{}" y="13" font-size="{}" fill="#1c2230">{}{}</text>',
                left + 6 + 150 * index,
                colour,
                left + 15 + 150 * index,
                font,
                one.label,
                "" if one.readings else " (not measured)",
            )
        )
        points = [xy(r.at, r.share) for r in one.readings]
        if len(points) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            parts.append(
                _svg('<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5" opacity="0.6"/>', path, colour)
            )
        for reading, (x, y) in zip(one.readings, points, strict=True):
            missed = reading.share > 1.0
            parts.append(
                _svg(
                    '<circle cx="{}" cy="{}" r="4" fill="{}" stroke="{}" stroke-width="{}" class="{}">'
                    "<title>{} {}: {} against {} ({} % of target)</title></circle>",
                    x,
                    y,
                    colour,
                    COLOURS["bad"] if missed else "#fff",
                    2.5 if missed else 1,
                    "missed" if missed else "met",
                    one.label,
                    f"{reading.at:%Y-%m-%d}",
                    short_duration(reading.achieved),
                    short_duration(reading.target),
                    round(reading.share * 100),
                )
            )
    desc = in_words(shown)
    return svg_frame(width=width, height=height, title=title, desc=desc, body=SafeString("".join(parts)), css=css)
