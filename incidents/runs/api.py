"""The runs API under /api/v1/runs/: reads as viewsets, each write one command through a service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import Perm
from dr_portal.api_keyset import NewestCreated
from dr_portal.api_request import InputSerializer, PublicIdLookup, request_user, serialize_many
from incidents.access import access_incident_by_id
from incidents.runs.access import access_approvals, access_run_by_id, access_runs, access_step_by_id
from incidents.runs.models import Mode, RecoveryRun, StepRun
from incidents.runs.resolve import Resolution
from incidents.runs.selectors import PendingApproval, approvals_pending, run_dry_run, run_queue_place
from incidents.runs.services import (
    run_cancel,
    run_start,
    step_approve,
    step_change,
    step_mark_done,
    step_reject,
    step_retry,
    step_skip,
)
from inventory.access import access_plan_by_id, access_point_by_id


class StepOut(serializers.ModelSerializer[StepRun]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset = serializers.SlugRelatedField(slug_field="name", read_only=True)  # type: ignore[var-annotated]
    point = serializers.SlugRelatedField(slug_field="public_id", read_only=True)  # type: ignore[var-annotated]
    run = serializers.SlugRelatedField(slug_field="public_id", read_only=True)  # type: ignore[var-annotated]
    # A point's file names and digests only for people who may restore (accounts/contents.py).
    evidence = serializers.JSONField(source="shown_evidence", read_only=True)
    error = serializers.CharField(source="shown_error", read_only=True)  # names a file only to restorers
    # Where it restores to only for people who may restore: null to others.
    target_path = serializers.CharField(
        source="shown_target_path",
        read_only=True,
        allow_null=True,
        help_text="null for people whose role may not restore: it names a server folder or a system's address.",
    )

    class Meta:
        model = StepRun
        fields = [
            "id",
            "run",
            "key",
            "title",
            "kind",
            "asset",
            "group",
            "position",
            "critical",
            "timeout_seconds",
            "requires_approval",
            "approval_role",
            "approval_quorum",
            "params",
            "point",
            "target_path",
            "target_region",
            "params_digest",
            "state",
            "attempt",
            "bytes_done",
            "bytes_total",
            "rate_bps",
            "phase",
            "phase_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "evidence",
            "error_code",
            "error",
            "skip_reason",
            "approval_requested_at",
        ]


class RunOut(serializers.ModelSerializer[RecoveryRun]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    plan = serializers.SlugRelatedField(slug_field="name", read_only=True)  # type: ignore[var-annotated]
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)  # type: ignore[var-annotated]
    steps = StepOut(many=True, read_only=True)
    queue_position = serializers.SerializerMethodField()
    error = serializers.CharField(source="shown_error", read_only=True)  # names a file only to restorers

    class Meta:
        model = RecoveryRun
        fields = [
            "id",
            "reference",
            "incident",
            "plan",
            "plan_version",
            "mode",
            "status",
            "queue_position",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "outage_started_at",
            "service_verified_at",
            "data_as_of",
            "rto_target_seconds",
            "rpo_target_seconds",
            "achieved_rto_seconds",
            "achieved_rpo_seconds",
            "error",
            "cancel_reason",
            "steps",
        ]

    def get_queue_position(self, run: RecoveryRun) -> int | None:
        place = run_queue_place(run=run)
        return place.position if place else None


class RunIn(InputSerializer):
    plan = serializers.UUIDField()
    mode = serializers.ChoiceField(choices=Mode.choices)
    incident = serializers.UUIDField(help_text="The incident or drill the run belongs to.")
    outage_started_at = serializers.DateTimeField(required=False, allow_null=True)


class DryRunIn(InputSerializer):
    plan = serializers.UUIDField()
    mode = serializers.ChoiceField(choices=Mode.choices)


class ReasonIn(InputSerializer):
    reason = serializers.CharField(max_length=2000)


class CommentIn(InputSerializer):
    comment = serializers.CharField(max_length=2000)


class StepChangeIn(InputSerializer):
    point = serializers.UUIDField(required=False)
    target = serializers.ChoiceField(choices=["original", "alternate"], required=False)


def _dry_run(resolution: Resolution) -> dict[str, Any]:
    return {
        "plan": resolution.plan.name,
        "mode": resolution.mode,
        "problems": resolution.problems,
        "bytes_total": resolution.bytes_total,
        "forecast_seconds": round(resolution.forecast_seconds, 1),
        "rto_target_seconds": resolution.rto_target_seconds,
        "throughput_bytes_per_second": round(resolution.throughput_bps),
        "throughput_measured": resolution.throughput_measured,
        "approval_wait_seconds": resolution.approval_wait_seconds,
        "forecast_basis": resolution.basis,
        "rto_probability": [
            {
                "asset": asset.name,
                "p_rto_met": forecast.probability,
                "interval": [forecast.low, forecast.high],
                "runs": forecast.runs,
                "newest_age_seconds": int(forecast.newest_age.total_seconds()) if forecast.newest_age else None,
                "text": forecast.text,
                "typical_seconds": forecast.typical_seconds,
                "parts": forecast.parts.text if forecast.parts and forecast.parts.known else None,
            }
            for asset, forecast in resolution.rto_forecasts
        ],
        "steps": [
            {
                "key": s.plan_step.key,
                "kind": s.plan_step.kind,
                "group": s.plan_step.group,
                "asset": s.asset.name if s.asset else None,
                "point": str(s.point.public_id) if s.point else None,
                "target_path": s.target_path,
                "target_region": s.target_region,
                "bytes": s.bytes,
                "forecast_seconds": round(s.forecast_seconds, 1),
                "approval": (
                    {"role": s.plan_step.approval_role, "quorum": s.plan_step.approval_quorum}
                    if s.plan_step.requires_approval
                    else None
                ),
            }
            for s in resolution.steps
        ],
    }


class RunViewSet(
    PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[RecoveryRun]
):
    serializer_class = RunOut
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    filterset_fields = ["status", "mode"]
    pagination_class = NewestCreated

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        access_runs(request.user)

    def get_queryset(self) -> QuerySet[RecoveryRun]:
        return (
            RecoveryRun.objects.select_related("plan", "requested_by", "incident")
            .prefetch_related("steps__asset", "steps__point", "steps__run")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(request=RunIn, responses={201: RunOut})
    def create(self, request: Request) -> Response:
        """Start a run (it is queued; a worker picks it up)."""
        access_runs(request.user, for_write=True)
        data = RunIn(data=request.data)
        data.is_valid(raise_exception=True)
        plan = access_plan_by_id(request.user, data.validated_data["plan"])
        incident = access_incident_by_id(request.user, data.validated_data["incident"])
        run = run_start(
            plan=plan,
            mode=data.validated_data["mode"],
            by=request_user(request),
            incident=incident,
            outage_started_at=data.validated_data.get("outage_started_at"),
        )
        return Response(RunOut(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DryRunIn, responses=dict)
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request) -> Response:
        """What a run would do: steps, bytes to move, RTO forecast, reasons it could not start."""
        access_runs(request.user, for_write=True)
        data = DryRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        plan = access_plan_by_id(request.user, data.validated_data["plan"])
        return Response(_dry_run(run_dry_run(plan=plan, mode=data.validated_data["mode"])))

    @extend_schema(request=ReasonIn, responses=RunOut)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        run = access_run_by_id(request.user, id, for_write=True)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = run_cancel(run=run, by=request_user(request), reason=data.validated_data["reason"])
        return Response(RunOut(run).data)


class StepViewSet(PublicIdLookup, mixins.RetrieveModelMixin, viewsets.GenericViewSet[StepRun]):
    serializer_class = StepOut
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        access_runs(request.user)

    def get_queryset(self) -> QuerySet[StepRun]:
        return StepRun.objects.select_related("run", "asset", "point")

    def _command(self, request: Request, id: str, perm: Perm) -> StepRun:
        return access_step_by_id(request.user, id, perm=perm)

    @extend_schema(request=StepChangeIn, responses=StepOut)
    def partial_update(self, request: Request, id: str) -> Response:
        """Change a restore step's point or target before it runs; earlier approvals stop counting."""
        step = self._command(request, id, Perm.COMMAND_INCIDENTS)
        data = StepChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        point = (
            access_point_by_id(request.user, data.validated_data["point"]) if "point" in data.validated_data else None
        )
        step = step_change(step=step, by=request_user(request), point=point, target=data.validated_data.get("target"))
        return Response(StepOut(step).data)

    def _act(self, request: Request, id: str, perm: Perm, serializer: type[InputSerializer], do: Any) -> Response:
        step = self._command(request, id, perm)
        data = serializer(data=request.data)
        data.is_valid(raise_exception=True)
        step = do(step, request_user(request), data.validated_data)
        return Response(StepOut(step).data)

    @extend_schema(request=ReasonIn, responses=StepOut)
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, id: str) -> Response:
        return self._act(
            request, id, Perm.COMMAND_INCIDENTS, ReasonIn, lambda s, u, d: step_skip(step=s, by=u, reason=d["reason"])
        )

    @extend_schema(request=None, responses=StepOut)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, id: str) -> Response:
        return self._act(request, id, Perm.COMMAND_INCIDENTS, InputSerializer, lambda s, u, d: step_retry(step=s, by=u))

    @extend_schema(request=ReasonIn, responses=StepOut)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, id: str) -> Response:
        return self._act(
            request,
            id,
            Perm.RESPOND_INCIDENTS,
            ReasonIn,
            lambda s, u, d: step_mark_done(step=s, by=u, note=d["reason"]),
        )

    @extend_schema(request=CommentIn, responses=StepOut)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, id: str) -> Response:
        return self._act(
            request, id, Perm.APPROVE_STEPS, CommentIn, lambda s, u, d: step_approve(step=s, by=u, comment=d["comment"])
        )

    @extend_schema(request=CommentIn, responses=StepOut)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, id: str) -> Response:
        return self._act(
            request, id, Perm.APPROVE_STEPS, CommentIn, lambda s, u, d: step_reject(step=s, by=u, comment=d["comment"])
        )


class PendingOut(serializers.Serializer[PendingApproval]):
    step = StepOut()
    run = serializers.SerializerMethodField()
    approved_by = serializers.ListField(source="approvers", child=serializers.CharField())
    waiting_for = serializers.IntegerField()
    data_loss_seconds = serializers.SerializerMethodField()
    requested_by = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField(source="step.approval_requested_at")
    expires_at = serializers.DateTimeField()
    you_may_decide = serializers.SerializerMethodField()
    why_not = serializers.CharField(source="blocked")

    def get_run(self, item: PendingApproval) -> dict[str, Any]:
        return {"id": str(item.run.public_id), "reference": item.run.reference, "mode": item.run.mode}

    def get_data_loss_seconds(self, item: PendingApproval) -> float | None:
        return item.data_loss.total_seconds() if item.data_loss is not None else None

    def get_requested_by(self, item: PendingApproval) -> str | None:
        who = item.step.approval_requested_by
        return who.get_username() if who else None

    def get_you_may_decide(self, item: PendingApproval) -> bool:
        return not item.blocked and item.mine is None


class ApprovalViewSet(viewsets.ViewSet):
    """The list comes from a selector, not a queryset: a plain viewset, its shape declared on `list`."""

    @extend_schema(responses=PendingOut(many=True))
    def list(self, request: Request) -> Response:
        """Steps waiting for approval, with exactly what each will do."""
        access_approvals(request.user)
        return Response(serialize_many(PendingOut, approvals_pending(user=request_user(request))))
