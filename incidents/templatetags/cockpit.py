"""Display filters for the cockpit: elapsed time and what a step will do (people and times: `humane`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from inventory.readiness import human_duration

register = template.Library()


@register.filter
def elapsed(moment: datetime | None) -> str:
    """How long since `moment`, without 'ago': '2 h 5 min'."""
    if moment is None:
        return "—"
    return human_duration(timezone.now() - moment)


@register.filter
def what_happens(step: Any, run: Any) -> str:
    """One sentence on what approving `step` will do."""
    text = str(step.get_kind_display())
    if step.asset is not None:
        text += f" of {step.asset.name}"
    if step.kind == "failover" and step.target_region:
        text += f": serve it from {step.target_region}"
        if run.mode == "drill":
            text += " (drill: check only, production routing untouched)"
    elif step.target_path:
        text += f" into {step.target_path}"
    if step.point is not None:
        text += f", from the point of {step.point.data_as_of:%Y-%m-%d %H:%M} UTC"
    message = (step.params or {}).get("message") or (step.params or {}).get("instructions")
    if message:
        text += f": “{message}”"
    return text
