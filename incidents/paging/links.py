"""Signed acknowledgement links for page emails: whoever holds the link may acknowledge, until it expires."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "paging.acknowledge"


class LinkInvalid(Exception):
    """The link was altered or is not one of ours."""


class LinkExpired(Exception):
    """The link is genuine but too old."""


def ack_token(*, page_id: str, user_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"page": page_id, "user": user_id})


def ack_url(*, page_id: str, user_id: int) -> str:
    token = ack_token(page_id=page_id, user_id=user_id)
    return settings.SITE_URL.rstrip("/") + reverse("paging:ack-link", args=[token])


def ack_token_read(token: str) -> tuple[str, int]:
    max_age = settings.PAGING_ACK_LINK_MINUTES * 60
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    return str(data["page"]), int(data["user"])
