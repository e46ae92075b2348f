"""Template helpers for report templates: `{% load reports %}`."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from dr_portal.pdf.wording import NOT_RECORDED

register = template.Library()


@register.filter
def recorded(value: Any) -> Any:
    """Print a missing fact as "not recorded" rather than leaving it out (0 and False are facts)."""
    if value is None or value == "" or value == [] or value == {}:
        return format_html('<span class="not-recorded">{}</span>', NOT_RECORDED)
    return value


@register.simple_tag
def chart_figure(svg: SafeString, caption: str = "", title: str = "") -> SafeString:
    """Wrap an SVG from dr_portal.charts in a figure that will not split across pages; the title prints above it."""
    if title:
        svg = format_html('<p class="chart-title">{}</p>{}', title, svg)
    if caption:
        return format_html('<figure class="chart">{}<figcaption>{}</figcaption></figure>', svg, caption)
    return format_html('<figure class="chart">{}</figure>', svg)


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """`mapping[key]`, or None: for charts kept in a dict by key."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


LONG_TOKEN = 24


@register.filter
def breakable(value: Any) -> Any:
    """Let long unbroken tokens (hashes, ids, URIs) wrap inside narrow cells: a <wbr> every 16 characters.

    Ordinary words keep wrapping only at spaces; None passes through for `recorded`.
    """
    if value is None or not isinstance(value, str) or len(value) <= LONG_TOKEN:
        return value
    parts = []
    for token in value.split(" "):
        if len(token) > LONG_TOKEN:
            pieces = [conditional_escape(token[i : i + 16]) for i in range(0, len(token), 16)]
            parts.append(mark_safe("<wbr>".join(pieces)))  # noqa: S308 - every piece is escaped
        else:
            parts.append(conditional_escape(token))
    return mark_safe(" ".join(parts))  # noqa: S308 - built from escaped parts


@register.filter
def dotted(value: Any) -> Any:
    """An identifier such as `incident.notification_recorded` may wrap after a dot or an underscore, never mid-word."""
    if not isinstance(value, str):
        return value
    parts = [conditional_escape(p) for p in value.replace(".", ".\0").replace("_", "_\0").split("\0")]
    return mark_safe("<wbr>".join(parts))  # noqa: S308 - every part is escaped
