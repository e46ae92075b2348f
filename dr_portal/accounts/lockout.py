"""Sign-in lock-out that an outsider cannot turn against the people it protects.

django-axes locks a username only for the address the failures came from
(AXES_LOCKOUT_PARAMETERS = username + ip_address), so guessing from elsewhere
cannot lock the commander out during an incident. On top of that, one address
with many failures across any usernames (LOGIN_ADDRESS_FAILURE_LIMIT, higher
than the per-person limit so an office behind one NAT address is not shut
out by one person's typos) is refused altogether until the cool-off passes.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone


def address_failures(*, ip_address: str) -> int:
    """Failed sign-ins from this address, all usernames, within the cool-off period."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since)
    return int(rows.aggregate(total=Sum("failures_since_start"))["total"] or 0)


class AddressLimitBackend:
    """Before ModelBackend in AUTHENTICATION_BACKENDS: refuses every sign-in from an address over its limit.

    It never signs anyone in, so it has no get_user (the test client's
    force_login and Django's session loading skip it). Refusing marks the request as locked out, so the
    lock-out response (a page, or 429 JSON from the API) answers it.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        if address and address_failures(ip_address=address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = {"username": username}  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed sign-ins from this address.")
        return None
