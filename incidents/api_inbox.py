"""The alert inbox over the API: list the alerts no asset claimed; attach, declare or map each."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import request_user, validated
from incidents.access import access_inbox, access_inbox_alert_by_id, access_incident_by_id
from incidents.api import _out
from incidents.api_serializers import IncidentOut
from incidents.models import InboxAlert, InboxState
from incidents.selectors import inbox_alert_list
from incidents.services.inbox import inbox_alert_attach, inbox_alert_declare, inbox_alert_map
from inventory.models import Asset


class InboxAlertOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    incident = serializers.UUIDField(source="incident.public_id", read_only=True, allow_null=True, default=None)
    handled_by = serializers.CharField(source="handled_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = InboxAlert
        fields = [
            "id", "source", "fingerprint", "group_key", "name", "status", "labels", "annotations",
            "generator_url", "external_url", "starts_at", "ends_at", "first_seen_at", "last_seen_at",
            "times_seen", "state", "incident", "handled_by", "handled_at",
        ]  # fmt: skip


class AttachIn(serializers.Serializer):
    incident = serializers.UUIDField()


class MapIn(serializers.Serializer):
    asset = serializers.SlugRelatedField(slug_field="name", queryset=Asset.objects.all())
    labels = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=50)


class MappingOut(serializers.Serializer):
    asset = serializers.CharField(source="asset.name")
    labels = serializers.DictField(child=serializers.CharField())


class InboxAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts that named no known asset; only those who command incidents see and handle them."""

    serializer_class = InboxAlertOut
    lookup_field = "public_id"
    lookup_url_kwarg = "alert_id"

    def get_queryset(self) -> QuerySet[InboxAlert]:
        if getattr(self, "swagger_fake_view", False):
            return InboxAlert.objects.none()
        access_inbox(self.request.user)
        wanted = self.request.query_params.get("state", InboxState.OPEN)
        return inbox_alert_list(state=wanted if wanted in InboxState.values else InboxState.OPEN)

    def get_object(self) -> InboxAlert:
        return access_inbox_alert_by_id(self.request.user, self.kwargs["alert_id"])

    @extend_schema(parameters=[OpenApiParameter("state", str, enum=InboxState.values)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AttachIn, responses=InboxAlertOut)
    @action(detail=True, methods=["post"])
    def attach(self, request: Request, alert_id: str) -> Response:
        alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
        data = validated(AttachIn, request)
        incident = access_incident_by_id(request.user, data["incident"], for_command=True)
        alert = inbox_alert_attach(alert=alert, incident=incident, by=request_user(request))
        return _out(InboxAlertOut, alert)

    @extend_schema(request=None, responses={201: IncidentOut})
    @action(detail=True, methods=["post"])
    def declare(self, request: Request, alert_id: str) -> Response:
        alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
        incident = inbox_alert_declare(alert=alert, by=request_user(request))
        return _out(IncidentOut, incident, status.HTTP_201_CREATED)

    @extend_schema(request=MapIn, responses={201: MappingOut})
    @action(detail=True, methods=["post"], url_path="map")
    def map_labels(self, request: Request, alert_id: str) -> Response:
        alert = access_inbox_alert_by_id(request.user, alert_id, for_write=True)
        data = validated(MapIn, request)
        mapping = inbox_alert_map(alert=alert, asset=data["asset"], label_keys=data["labels"], by=request_user(request))
        return _out(MappingOut, mapping, status.HTTP_201_CREATED)
