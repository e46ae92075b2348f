"""Who may see and act on pages: responders see and acknowledge; commanders replay deliveries."""

from __future__ import annotations

from typing import Any

from dr_portal.accounts.access import NotFoundOrForbidden, Perm, check, parse_public_id
from incidents.paging.models import Page


def access_paging(user: Any) -> None:
    check(user, Perm.RESPOND_INCIDENTS)


def access_page_by_id(user: Any, page_id: Any) -> Page:
    check(user, Perm.RESPOND_INCIDENTS)
    try:
        return Page.objects.select_related("incident", "acknowledged_by", "policy").get(
            public_id=parse_public_id(page_id)
        )
    except Page.DoesNotExist:
        raise NotFoundOrForbidden from None
