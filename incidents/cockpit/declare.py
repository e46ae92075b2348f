"""Declare from where the trouble is: an asset page or a readiness breach fills in the form."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from dr_portal.accounts.access import MalformedId, parse_public_id
from inventory.models import Asset


def declare_initial(params: QueryDict) -> dict[str, Any]:
    """Initial values from `?asset=<id>&reason=...`: the assets, a title naming them, the reason as summary."""
    ids = []
    for value in params.getlist("asset"):
        try:
            ids.append(parse_public_id(value))
        except MalformedId:
            continue
    assets = list(Asset.objects.filter(public_id__in=ids).order_by("tier", "name"))
    if not assets:
        return {}
    reason = params.get("reason", "").strip()[:500]
    names = ", ".join(a.name for a in assets[:3])
    title = f"{names}: {reason}" if reason else f"{names} degraded"
    return {"assets": assets, "title": title[:200], "summary": reason, "category": "availability"}
