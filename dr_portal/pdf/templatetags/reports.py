"""Template helpers for report templates: `{% load reports %}`."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

NOT_RECORDED = "not recorded"


@register.filter
def recorded(value: Any) -> Any:
    """Print a missing fact as "not recorded" rather than leaving it out (0 and False are facts)."""
    if value is None or value == "" or value == [] or value == {}:
        return format_html('<span class="not-recorded">{}</span>', NOT_RECORDED)
    return value


@register.simple_tag
def chart_figure(svg: SafeString, caption: str = "") -> SafeString:
    """Wrap an SVG from dr_portal.charts in a figure that will not split across pages."""
    if caption:
        return format_html('<figure class="chart">{}<figcaption>{}</figcaption></figure>', svg, caption)
    return format_html('<figure class="chart">{}</figure>', svg)
