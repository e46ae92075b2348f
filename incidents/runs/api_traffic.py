"""Traffic and behaviour API: an endpoint's driver, an asset's golden sets, a run's signed certificate.

GET|PUT /api/v1/runs/traffic/<asset id>/        {"driver": "haproxy", "config": {...}}
GET|POST /api/v1/runs/golden-sets/<asset id>/   {"model_format", "model_path", "inputs", "expected", "tolerance"}
GET /api/v1/runs/certificates/<run id>/         the signed JSON file, byte for byte
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import InputSerializer, request_user, serialize_many, validated
from incidents.runs.access import access_run_by_id
from incidents.runs.certificate.models import RunCertificate
from incidents.runs.drivers.config import route_of
from incidents.runs.drivers.models import DriverKind
from incidents.runs.drivers.services import endpoint_route_set
from incidents.runs.golden.models import GoldenSet
from incidents.runs.golden.services import golden_set_save
from inventory.access import access_asset_by_id


class RouteIO(InputSerializer):
    driver = serializers.ChoiceField(choices=DriverKind.choices)
    config = serializers.DictField(required=False, default=dict)
    moves_traffic = serializers.BooleanField(read_only=True)


class GoldenIO(serializers.Serializer[GoldenSet]):
    id = serializers.IntegerField(source="pk", read_only=True)
    model_format = serializers.CharField(max_length=32)
    model_path = serializers.CharField(max_length=300)
    inputs = serializers.JSONField()
    expected = serializers.JSONField()
    tolerance = serializers.FloatField()
    sha256 = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


@extend_schema(methods=["GET"], responses=RouteIO)
@extend_schema(methods=["PUT"], request=RouteIO, responses=RouteIO)
@api_view(["GET", "PUT"])
def traffic_route(request: Request, asset_id: str) -> Response:
    asset = access_asset_by_id(request.user, asset_id, for_write=request.method == "PUT")
    if request.method == "PUT":
        data = validated(RouteIO, request)
        endpoint_route_set(asset=asset, driver=data["driver"], config=data["config"], by=request_user(request))
    route = route_of(asset)
    return Response({"driver": route.driver, "config": route.config, "moves_traffic": route.driver != "record_only"})


@extend_schema(methods=["GET"], responses=GoldenIO(many=True))
@extend_schema(methods=["POST"], request=GoldenIO, responses={201: GoldenIO})
@api_view(["GET", "POST"])
def golden_sets(request: Request, asset_id: str) -> Response:
    asset = access_asset_by_id(request.user, asset_id, for_write=request.method == "POST")
    if request.method == "POST":
        data = validated(GoldenIO, request)
        saved = golden_set_save(asset=asset, by=request_user(request), **data)
        return Response(GoldenIO(saved).data, status=201)
    return Response(serialize_many(GoldenIO, GoldenSet.objects.filter(asset=asset)))


@extend_schema(responses={(200, "application/json"): dict})
@api_view(["GET"])
def certificate(request: Request, run_id: str) -> HttpResponse:
    run = access_run_by_id(request.user, run_id)
    cert = RunCertificate.objects.filter(run=run).first()
    if cert is None:
        raise exceptions.NotFound("This run has no certificate yet: it is issued when the run is verified.")
    return HttpResponse(cert.document, content_type="application/json")
