"""Acknowledge a page through the API (a chat bot, a phone app)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import request_user
from incidents.paging.access import access_page_by_id
from incidents.paging.models import Page
from incidents.paging.services import page_acknowledge


class PageOut(serializers.Serializer[Page]):
    id = serializers.UUIDField(source="public_id")
    incident = serializers.CharField(source="incident.reference")
    status = serializers.CharField()
    level = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_via = serializers.CharField()


@extend_schema(request=None, responses=PageOut)
@api_view(["POST"])
def page_acknowledge_view(request: Request, page_id: str) -> Response:
    """Take the page: escalation stops. 409 when someone already acknowledged it."""
    page = access_page_by_id(request.user, page_id)
    page = page_acknowledge(page=page, by=request_user(request), via="api")
    return Response(PageOut(page).data)
