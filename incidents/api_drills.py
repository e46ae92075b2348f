"""Drills through the API: start one now, and each asset's drill schedule."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import request_user, validated
from incidents.access import access_drills
from incidents.api_serializers import DrillScheduleIn, DrillStartIn, IncidentOut
from incidents.selectors import drill_plan
from incidents.services import drill_schedule_set, drill_start


@extend_schema(request=DrillStartIn, responses={201: IncidentOut})
@api_view(["POST"])
def drill_create(request: Request) -> Response:
    """Start a drill now; the caller becomes its commander."""
    access_drills(request.user, for_write=True)
    data = validated(DrillStartIn, request)
    incident = drill_start(
        assets=data["assets"], scenario=data["scenario"], by=request_user(request), commander=request_user(request)
    )
    return Response(IncidentOut(incident).data, status=status.HTTP_201_CREATED)


class DrillPlanOut(serializers.Serializer):
    asset = serializers.CharField(source="asset.name")
    enabled = serializers.BooleanField()
    scenario = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    cadence_days = serializers.IntegerField(source="asset.policy.drill_cadence_days")


@extend_schema(methods=["GET"], responses=DrillPlanOut(many=True))
@extend_schema(methods=["POST"], request=DrillScheduleIn, responses=DrillPlanOut(many=True))
@api_view(["GET", "POST"])
def drill_schedules(request: Request) -> Response:
    """GET: every asset with a policy, its drill schedule and next due date. POST: turn one on or off."""
    access_drills(request.user, for_write=request.method == "POST")
    if request.method == "POST":
        data = validated(DrillScheduleIn, request)
        drill_schedule_set(
            asset=data["asset"], enabled=data["enabled"], scenario=data["scenario"], by=request_user(request)
        )
    return Response(DrillPlanOut(drill_plan(), many=True).data)
