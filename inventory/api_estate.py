"""Estate-wide inventory endpoints: readiness and its summary, blast radius, import and export."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.contents import contents_visible
from dr_portal.api_pages import PagePagination
from dr_portal.api_request import InputSerializer, request_user, serialize_many
from inventory.access import access_asset_by_id, access_inventory
from inventory.api_serializers import ReadinessOut
from inventory.models import Asset
from inventory.porting import ImportFailed, export_yaml
from inventory.porting_stream import import_stream
from inventory.readiness import Level, Rollup
from inventory.selectors import SORTS as READINESS_SORTS
from inventory.selectors import (
    assets_in_order,
    blast_radius,
    readiness_counts,
    readiness_page,
    readiness_rollups,
    stored_readiness,
)


class RollupOut(serializers.Serializer[Rollup]):
    key = serializers.CharField()
    worst = serializers.CharField(source="worst.key")
    counts = serializers.DictField(child=serializers.IntegerField())


class ReadinessQuery(InputSerializer):
    status = serializers.ChoiceField(choices=[level.key for level in Level], required=False)
    tier = serializers.IntegerField(min_value=0, max_value=3, required=False)
    team = serializers.CharField(max_length=100, required=False)
    sort = serializers.ChoiceField(
        choices=[*READINESS_SORTS, *(f"-{name}" for name in READINESS_SORTS)], required=False, default="status"
    )


@extend_schema(
    parameters=[
        ReadinessQuery,
        OpenApiParameter("page", int, description="Page number from 1; past the end an empty page."),
        OpenApiParameter("page_size", int, description="Rows per page, 1 to 200 (default 50)."),
    ],
    responses=ReadinessOut(many=True),
)
@api_view(["GET"])
def readiness(request: Request) -> Response:
    """Each asset's stored readiness with its reasons, a page at a time (`page`, `page_size` up to 200);
    filter by status, tier or team, each given once."""
    access_inventory(request.user)
    query = ReadinessQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    ids = readiness_page(**query.validated_data).values_list("pk", flat=True)  # sort and page narrow rows,
    paginator = PagePagination()
    page = assets_in_order(list(paginator.paginate_queryset(ids, request) or []))  # then fetch the page's
    now = timezone.now()
    return paginator.get_paginated_response(serialize_many(ReadinessOut, [stored_readiness(a, now=now) for a in page]))


@extend_schema(
    responses=inline_serializer(
        "ReadinessSummary",
        {
            "counts": serializers.DictField(child=serializers.IntegerField()),
            "by_tier": RollupOut(many=True),
            "by_team": RollupOut(many=True),
        },
    )
)
@api_view(["GET"])
def readiness_summary(request: Request) -> Response:
    """Assets per readiness status, overall and by tier and team (aggregates of the stored state)."""
    access_inventory(request.user)
    return Response(
        {
            "counts": readiness_counts(),
            "by_tier": serialize_many(RollupOut, readiness_rollups(by="tier")),
            "by_team": serialize_many(RollupOut, readiness_rollups(by="team")),
        }
    )


class BlastRadiusIn(InputSerializer):
    assets = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)


class AssetRef(serializers.Serializer[Asset]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    tier = serializers.IntegerField()


@extend_schema(
    request=BlastRadiusIn,
    responses=inline_serializer(
        "BlastRadius",
        {
            "failed": AssetRef(many=True),
            "impacted": AssetRef(many=True),
            "restore_groups": serializers.ListField(child=AssetRef(many=True)),
        },
    ),
)
@api_view(["POST"])
def blast_radius_view(request: Request) -> Response:
    """Everything downstream of the failed assets, and restore groups upstream first."""
    data = BlastRadiusIn(data=request.data)
    data.is_valid(raise_exception=True)
    failed = [access_asset_by_id(request.user, asset_id) for asset_id in data.validated_data["assets"]]
    result = blast_radius(failed=failed)
    return Response(
        {
            "failed": serialize_many(AssetRef, result.failed),
            "impacted": serialize_many(AssetRef, result.impacted),
            "restore_groups": [serialize_many(AssetRef, group) for group in result.restore_groups],
        }
    )


@extend_schema(
    request={"multipart/form-data": inline_serializer("InventoryUpload", {"file": serializers.FileField()})},
    responses={201: inline_serializer("ImportResult", {"summary": serializers.CharField()})},
)
@api_view(["POST"])
@parser_classes([MultiPartParser])
def import_view(request: Request) -> Response:
    """Import a YAML or CSV file, all or nothing; errors name line and field."""
    access_inventory(request.user, for_write=True)
    upload = request.FILES.get("file")
    if upload is None:
        raise exceptions.ValidationError({"file": ["Send the file as multipart field 'file'."]})
    try:
        summary = import_stream(name=upload.name or "upload", stream=upload, size=upload.size, by=request_user(request))
    except ImportFailed as failed:
        raise exceptions.ValidationError({"file": failed.errors}) from None
    return Response({"summary": str(summary)}, status=status.HTTP_201_CREATED)


@extend_schema(responses={(200, "application/yaml"): str})
@api_view(["GET"])
def export_view(request: Request) -> HttpResponse:
    """The whole catalogue as YAML, in the format the import takes."""
    access_inventory(request.user)
    return HttpResponse(export_yaml(sources=contents_visible()), content_type="application/yaml")
