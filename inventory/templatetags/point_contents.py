"""What a connector captured in a recovery point, for the asset and history pages."""

from __future__ import annotations

from django import template

from dr_portal.accounts.contents import contents_visible
from inventory.connector_io import capture_text
from inventory.models import RecoveryPoint

register = template.Library()


@register.filter
def holds(point: RecoveryPoint) -> str:
    """Tables and rows, keys, models and versions, vector tables and their embedding model; "" for
    a point of plain files, or when the viewer may not see what points hold."""
    if not contents_visible():
        return ""
    return capture_text(point)
