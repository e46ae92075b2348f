"""Drills through the API: start one (optionally with its drill-mode run), and follow that run until it ends.

`POST /api/v1/drills/` with `"run": true` is what `manage.py drill` (CI/CD) calls;
`GET /api/v1/drills/runs/{id}/` is what it polls.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import NotFoundOrForbidden
from dr_portal.api_request import InputSerializer, request_user, validated
from incidents.access import access_drills
from incidents.api_serializers import IncidentOut
from incidents.models import Incident
from incidents.runs.access import access_run_by_id
from incidents.runs.api import RunOut
from incidents.runs.drills import DrillProgress, drill_progress, drill_run_start, drill_targets_resolve
from incidents.runs.models import Mode, RecoveryRun, StepRun
from incidents.services import drill_start


class DrillIn(InputSerializer):
    assets = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        max_length=200,
        help_text="Asset names; with `run`, a recovery plan's name stands for its assets.",
    )
    scenario = serializers.CharField(max_length=500)
    run = serializers.BooleanField(
        default=False,
        help_text="Also start a drill-mode run: restore into an isolated target, verify, measure, clean up. "
        "Unless a plan is named, one that restores and verifies the assets in dependency order is made and kept.",
    )


class DrillOut(IncidentOut):
    run = serializers.SerializerMethodField()

    @extend_schema_field(RunOut(allow_null=True))
    def get_run(self, incident: Incident) -> dict[str, Any] | None:
        run: RecoveryRun | None = self.context.get("run")
        return RunOut(run).data if run is not None else None


@extend_schema(request=DrillIn, responses={201: DrillOut})
@api_view(["POST"])
def drill_create(request: Request) -> Response:
    """Start a drill now; the caller becomes its commander. With `run`, its drill-mode run starts too."""
    access_drills(request.user, for_write=True)
    data = validated(DrillIn, request)
    by = request_user(request)
    run: RecoveryRun | None = None
    if data["run"]:
        run = drill_run_start(names=data["assets"], scenario=data["scenario"], by=by)
        incident = run.incident
        assert incident is not None  # a run started now always belongs to its drill
    else:
        targets = drill_targets_resolve(names=data["assets"])
        if targets.plan is not None:
            raise ValidationError({"assets": ["A recovery plan is drilled by its run: send `run: true`."]})
        incident = drill_start(assets=targets.assets, scenario=data["scenario"], by=by, commander=by)
    return Response(DrillOut(incident, context={"run": run}).data, status=status.HTTP_201_CREATED)


class DrillStepOut(serializers.ModelSerializer[StepRun]):
    asset = serializers.SlugRelatedField(slug_field="name", read_only=True)  # type: ignore[var-annotated]
    error = serializers.CharField(source="shown_error", read_only=True)  # names a file only to restorers

    class Meta:
        model = StepRun
        fields = [
            "key",
            "title",
            "kind",
            "asset",
            "group",
            "critical",
            "state",
            "attempt",
            "bytes_done",
            "bytes_total",
            "started_at",
            "finished_at",
            "error",
            "skip_reason",
        ]


class DrillProgressOut(serializers.Serializer[DrillProgress]):
    run = serializers.UUIDField(source="run.public_id")
    reference = serializers.CharField(source="run.reference")
    incident = serializers.UUIDField(source="run.incident_uuid", allow_null=True)
    plan = serializers.CharField(source="run.plan.name")
    status = serializers.CharField(source="run.status")
    finished = serializers.BooleanField()
    passed = serializers.BooleanField(allow_null=True, help_text="Null until the run has finished.")
    elapsed_seconds = serializers.IntegerField(help_text="Since the drill began, by the portal's clock: the RTO clock.")
    achieved_rto_seconds = serializers.IntegerField(source="run.achieved_rto_seconds", allow_null=True)
    rto_target_seconds = serializers.IntegerField(source="run.rto_target_seconds", allow_null=True)
    achieved_rpo_seconds = serializers.IntegerField(source="run.achieved_rpo_seconds", allow_null=True)
    rpo_target_seconds = serializers.IntegerField(source="run.rpo_target_seconds", allow_null=True)
    cleaned_up = serializers.SerializerMethodField()
    error = serializers.CharField(source="run.error")
    steps = DrillStepOut(many=True)

    def get_cleaned_up(self, progress: DrillProgress) -> bool:
        return progress.run.cleaned_at is not None


@extend_schema(responses=DrillProgressOut)
@api_view(["GET"])
def drill_run_progress(request: Request, run_id: str) -> Response:
    """Where a drill-mode run is: status, time since the drill began, measured RTO/RPO, each step."""
    run = access_run_by_id(request.user, run_id)
    if run.mode != Mode.DRILL:
        raise NotFoundOrForbidden
    return Response(DrillProgressOut(drill_progress(run=run)).data)
