"""Sign-in lock-out that an outsider cannot turn against the people it protects.

django-axes locks a username only for the address the failures came from
(AXES_LOCKOUT_PARAMETERS = username + ip_address), so guessing from elsewhere
cannot lock the commander out during an incident. On top of that, one address
with many failures across any usernames (LOGIN_ADDRESS_FAILURE_LIMIT, higher
than the per-person limit so an office behind one NAT address is not shut
out by one person's typos) is refused altogether until the cool-off passes.

A person locked out at their address still has a way in: the right password
together with a valid code from their confirmed authenticator skips the
per-person lock (SecondFactorLockoutBackend), but never the per-address limit,
which is checked first. The code is consumed, and the sign-in counts as MFA-verified.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import User
from dr_portal.accounts.selectors import user_confirmed_totp

# Set on the request when a sign-in proved a second factor (the device it used).
SECOND_FACTOR_ATTR = "dr_second_factor"


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
            request.dr_address_locked = True  # type: ignore[attr-defined]
            request.axes_credentials = {"username": username}  # type: ignore[attr-defined]
            raise PermissionDenied("Too many failed sign-ins from this address.")
        return None


def _proven_second_factor(*, username: str, password: str, otp_token: str) -> TOTPDevice | None:
    """The person's confirmed authenticator, if the password is right and the code verifies on it."""
    try:
        user = User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        User().set_password(password)  # the same work as for a real person: no timing oracle for names
        return None
    if not user.is_active or not user.check_password(password):
        return None
    device = user_confirmed_totp(user=user)
    if device is None or not device.verify_is_allowed()[0]:
        return None  # django-otp's own throttle still applies to code guessing
    return device if device.verify_token(otp_token) else None


class SecondFactorLockoutBackend(AxesStandaloneBackend):
    """django-axes' per-person lock, except for a sign-in that proves the password and a second factor."""

    def authenticate(
        self,
        request: HttpRequest,
        username: str | None = None,
        password: str | None = None,
        otp_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is not None and username and password and otp_token:
            device = _proven_second_factor(username=username, password=password, otp_token=otp_token)
            if device is not None:
                setattr(request, SECOND_FACTOR_ATTR, device)
                return None
        return super().authenticate(request, username, password, **kwargs)


def second_factor_proven(request: HttpRequest, user: Any) -> TOTPDevice | None:
    """The device a sign-in on this request already verified for `user` (a code cannot be used twice)."""
    device = getattr(request, SECOND_FACTOR_ATTR, None)
    return device if isinstance(device, TOTPDevice) and device.user_id == user.pk else None
