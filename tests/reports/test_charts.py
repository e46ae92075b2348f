"""The report charts: the right bar length, colour and note for each row, escaped labels."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from django.template import Context, Template

from dr_portal.charts import COLOURS, Measured, achieved_vs_target_chart, backup_age_vs_rpo_chart, short_duration

H = timedelta(hours=1)


def bars(svg: str) -> list[tuple[str, float, str]]:
    """(title, bar width, fill) per row, read back from the SVG; a row with no value has no bar: (title, 0, "")."""
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output
    ns = {"s": "http://www.w3.org/2000/svg"}
    rows = []
    for group in root.findall("s:g", ns):
        rect = group.find("s:rect", ns)
        title = group.find("s:title", ns)
        assert title is not None
        if rect is None:
            rows.append((title.text or "", 0.0, ""))
            continue
        rows.append((title.text or "", float(rect.get("width", "0")), rect.get("fill", "")))
    return rows


def test_backup_age_vs_rpo_colours_by_share_of_rpo() -> None:
    svg = backup_age_vs_rpo_chart(
        [
            Measured("fresh", timedelta(minutes=30), H),
            Measured("close", timedelta(minutes=54), H),
            Measured("late", 3 * H, H),
            Measured("never", None, H),
        ]
    )
    rows = bars(svg)
    assert [fill for _, _, fill in rows] == [COLOURS["ok"], COLOURS["risk"], COLOURS["bad"], ""]  # no empty bar
    assert rows[0][0] == "fresh: 30m / 1h 00m"
    assert rows[3][0] == "never: no good backup" and rows[3][1] == 0
    # half the RPO draws half as long as 90 % of it; past the 2x cap the bar stops at the cap
    assert abs(rows[0][1] / rows[1][1] - 0.5 / 0.9) < 0.02
    assert "»" in svg and ">RPO<" in svg and ">80 %<" in svg


def test_achieved_vs_target_is_green_up_to_the_target_itself() -> None:
    rows = bars(
        achieved_vs_target_chart([Measured("on time", H, H), Measured("late", 61 * H / 60, H), Measured("x", H, None)])
    )
    assert [fill for _, _, fill in rows] == [COLOURS["ok"], COLOURS["bad"], ""]
    assert rows[2][0] == "x: no target"


def test_labels_are_escaped() -> None:
    svg = achieved_vs_target_chart([Measured("<script>", H, H)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_short_duration() -> None:
    assert [short_duration(timedelta(seconds=s)) for s in (40, 720, 7500, 3 * 86400 + 4 * 3600)] == [
        "40s",
        "12m",
        "2h 05m",
        "3d 4h",
    ]


def test_recorded_prints_not_recorded_for_missing_facts_but_keeps_zero() -> None:
    template = Template("{% load reports %}[{{ a|recorded }}][{{ b|recorded }}][{{ c|recorded }}]")
    html = template.render(Context({"a": None, "b": 0, "c": ""}))
    assert re.sub(r"<[^>]+>", "", html) == "[not recorded][0][not recorded]"
