"""The token endpoints and who-am-I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.lockout import second_factor_proven
from dr_portal.accounts.models import ApiToken, User
from dr_portal.accounts.selectors import otp_refusal, user_confirmed_totp
from dr_portal.accounts.services import token_issue, token_revoke
from dr_portal.api_request import InputSerializer, request_user


class BadCredentials(exceptions.APIException):
    """401 even on the token endpoint, which has no authentication class to say so."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "authentication_failed"


class TokenRequest(InputSerializer):
    # min_length puts "not empty" into the schema; untrimmed, so " " is a (wrong) name, not bad input.
    username = serializers.CharField(min_length=1, max_length=150, trim_whitespace=False)
    password = serializers.CharField(min_length=1, trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True, max_length=12)
    # Blank (or spaces) is as good as left out: the schema cannot say "not only spaces".
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="API token")


class TokenOut(serializers.Serializer[ApiToken]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    prefix = serializers.CharField()
    mfa_verified = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()


@extend_schema(
    request=TokenRequest,
    responses={201: inline_serializer("IssuedToken", {"token": serializers.CharField(), "details": TokenOut()})},
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_create(request: Request) -> Response:
    """Exchange username, password (and a one-time code when enrolled) for a token."""
    data = TokenRequest(data=request.data)
    data.is_valid(raise_exception=True)
    otp = data.validated_data.get("otp") or ""
    credentials = {"username": data.validated_data["username"], "password": data.validated_data["password"]}
    user = authenticate(request._request, **credentials, **({"otp_token": otp} if otp else {}))
    if user is None:
        raise BadCredentials("Wrong username or password.")
    device = user_confirmed_totp(user=user)
    if device is not None and second_factor_proven(request._request, user) is None:
        # A code sent along was already tried while signing in (lockout.py); a code works once.
        if not otp:
            raise BadCredentials("This account uses MFA: send your one-time code as 'otp'.")
        allowed, why = device.verify_is_allowed()
        if not allowed:
            raise BadCredentials(otp_refusal(why))
        raise BadCredentials("Wrong or expired one-time code.")
    issued = token_issue(user=user, name=data.validated_data["name"] or "API token", mfa_verified=device is not None)
    return Response({"token": issued.raw, "details": TokenOut(issued.token).data}, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def token_revoke_current(request: Request) -> Response:
    """Revoke the token this request was made with."""
    if not isinstance(request.auth, ApiToken):
        raise exceptions.ValidationError({"detail": "Only a token can revoke itself; this request used a session."})
    token_revoke(token=request.auth)
    return Response(status=status.HTTP_204_NO_CONTENT)


class MeOut(serializers.Serializer[User]):
    id = serializers.UUIDField(source="public_id")
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    role = serializers.CharField()
    role_label = serializers.CharField()


@extend_schema(responses=MeOut)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request: Request) -> Response:
    """Who this token or session belongs to."""
    return Response(MeOut(request_user(request)).data)
