"""The incidents API under /api/v1/: reads through selectors, one action per command, all through the access layer.

A refusal by the rules (an illegal status jump, a role for someone without
the permission, a note on a closed incident…) is a 409 with the reason.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.models import User
from dr_portal.api_request import BIGINT_MAX, INT_MAX, request_user, validated
from incidents.access import (
    access_action_item_by_id,
    access_drills,
    access_incident_by_id,
    access_incidents,
)
from incidents.clocks import Clock
from incidents.models import (
    ActionItem,
    ActionKind,
    ActionStatus,
    Category,
    DrillOutcome,
    Filing,
    FilingPhase,
    Incident,
    IncidentKind,
    IncidentRole,
    IncidentStatus,
    Note,
    Regime,
    Review,
    Severity,
)
from incidents.selectors import (
    TIMELINE_KINDS,
    IncidentFilters,
    current_roles,
    drill_plan,
    incident_action_items,
    incident_assets,
    incident_board,
    incident_list,
    role_history,
    suggested_assets,
    timeline_kind_of,
    timeline_page,
)
from incidents.services import (
    action_item_add,
    action_item_set_status,
    delay_reason_record,
    drill_outcome_record,
    drill_schedule_set,
    drill_start,
    filing_record,
    incident_add_assets,
    incident_declare,
    incident_set_severity,
    incident_transition,
    incident_update_facts,
    note_add,
    pin_set,
    review_save,
    review_sign_off,
    role_assign,
    role_relieve,
)
from incidents.services.lifecycle import FACT_FIELDS
from incidents.templatetags.incident_tags import describe
from inventory.models import Asset


class UsernameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs)


class AssetNameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="name", queryset=Asset.objects.all(), **kwargs)


# --- output ---------------------------------------------------------------------------


class ClockOut(serializers.Serializer):
    regime = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    rule = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    filed_at = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField()
    seconds_left = serializers.SerializerMethodField()
    needs_reason = serializers.BooleanField()
    delay_reason = serializers.CharField()

    def get_seconds_left(self, clock: Clock) -> int | None:
        return int(clock.remaining.total_seconds()) if clock.remaining is not None else None


class IncidentListOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField()
    declared_at = serializers.DateTimeField()
    commander = serializers.SerializerMethodField()

    def get_commander(self, incident: Incident) -> str | None:
        held = getattr(incident, "commanders", None)
        return held[0].user.username if held else None


class IncidentOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    severity = serializers.CharField()
    severity_rule = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    allowed_next = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.source
    alert_group_key = serializers.CharField()
    times = serializers.SerializerMethodField()
    data_impact = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    assets = serializers.SerializerMethodField()
    suggested_assets = serializers.SerializerMethodField()
    clocks = serializers.SerializerMethodField()

    def get_times(self, incident: Incident) -> dict[str, Any]:
        names = ("started_at", "detected_at", "declared_at", "aware_at", "discovered_at", "ai_aware_at",
                 "contained_at", "restored_at", "resolved_at", "closed_at")  # fmt: skip
        return {name: getattr(incident, name) for name in names}

    def get_data_impact(self, incident: Incident) -> dict[str, Any]:
        names = ("personal_data", "subject_categories", "subjects_approx", "record_categories", "records_approx",
                 "special_categories", "phi", "data_encrypted", "ai_serious", "ai_death", "ai_widespread",
                 "ai_critical_infra")  # fmt: skip
        return {name: getattr(incident, name) for name in names}

    def get_roles(self, incident: Incident) -> dict[str, str]:
        return {role: held.user.username for role, held in current_roles(incident=incident).items()}

    def get_assets(self, incident: Incident) -> list[dict[str, Any]]:
        return [
            {
                "name": link.asset.name,
                "tier": link.asset.tier,
                "source": link.source,
                "drill_outcome": link.drill_outcome,
            }
            for link in incident_assets(incident=incident)
        ]

    def get_suggested_assets(self, incident: Incident) -> list[str]:
        return [a.name for a in suggested_assets(incident=incident, linked=incident_assets(incident=incident))]

    def get_clocks(self, incident: Incident) -> list[dict[str, Any]]:
        return ClockOut(incident_board(incident=incident).clocks, many=True).data  # type: ignore[return-value]


class EntryOut(serializers.Serializer):
    seq = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    kind = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    payload = serializers.JSONField()

    def get_kind(self, event: Any) -> str:
        return timeline_kind_of(event.action)

    def get_text(self, event: Any) -> str:
        return describe(event)


class AssignmentOut(serializers.Serializer):
    role = serializers.CharField()
    user = serializers.CharField(source="user.username")
    assigned_by = serializers.CharField(source="assigned_by.username", allow_null=True, default=None)
    assigned_at = serializers.DateTimeField()
    relieved_at = serializers.DateTimeField(allow_null=True)
    relieved_by = serializers.CharField(source="relieved_by.username", allow_null=True, default=None)


class FilingOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    regime = serializers.CharField()
    phase = serializers.CharField()
    recipient = serializers.CharField()
    channel = serializers.CharField()
    reference = serializers.CharField()
    filed_at = serializers.DateTimeField()
    summary = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")


class ActionItemOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    incident = serializers.UUIDField(source="incident.public_id")
    title = serializers.CharField()
    kind = serializers.CharField()
    critical = serializers.BooleanField()
    owner = serializers.CharField(source="owner.username")
    due_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()


class ReviewOut(serializers.Serializer):
    root_cause = serializers.CharField()
    contributing_factors = serializers.CharField()
    went_well = serializers.CharField()
    went_badly = serializers.CharField()
    signed_off_by = serializers.CharField(source="signed_off_by.username", allow_null=True, default=None)
    signed_off_at = serializers.DateTimeField(allow_null=True)


# --- input ----------------------------------------------------------------------------


class DeclareIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True)
    severity_rule = serializers.CharField(max_length=300, required=False, default="")
    summary = serializers.CharField(required=False, default="", allow_blank=True)
    assets = serializers.ListField(child=AssetNameField(), required=False, default=list)
    commander = UsernameField(required=False, allow_null=True)


class TransitionIn(serializers.Serializer):
    to = serializers.ChoiceField(choices=IncidentStatus.choices)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class SeverityIn(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    rule = serializers.CharField(max_length=300)


class RoleIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=IncidentRole.choices)
    user = UsernameField()


class RelieveIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=IncidentRole.choices)


class NoteIn(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)
    corrects = serializers.UUIDField(required=False, allow_null=True)


class PinIn(serializers.Serializer):
    seq = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    pinned = serializers.BooleanField(default=True)


class AssetsIn(serializers.Serializer):
    assets = serializers.ListField(child=AssetNameField(), min_length=1)


class FactsIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    aware_at = serializers.DateTimeField(required=False, allow_null=True)
    discovered_at = serializers.DateTimeField(required=False, allow_null=True)
    ai_aware_at = serializers.DateTimeField(required=False, allow_null=True)
    contained_at = serializers.DateTimeField(required=False, allow_null=True)
    restored_at = serializers.DateTimeField(required=False, allow_null=True)
    personal_data = serializers.BooleanField(required=False)
    subject_categories = serializers.CharField(max_length=300, required=False, allow_blank=True)
    subjects_approx = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False, allow_null=True)
    record_categories = serializers.CharField(max_length=300, required=False, allow_blank=True)
    records_approx = serializers.IntegerField(min_value=0, max_value=BIGINT_MAX, required=False, allow_null=True)
    special_categories = serializers.BooleanField(required=False)
    phi = serializers.BooleanField(required=False)
    data_encrypted = serializers.BooleanField(required=False)
    ai_serious = serializers.BooleanField(required=False)
    ai_death = serializers.BooleanField(required=False)
    ai_widespread = serializers.BooleanField(required=False)
    ai_critical_infra = serializers.BooleanField(required=False)


class FilingIn(serializers.Serializer):
    regime = serializers.ChoiceField(choices=Regime.choices)
    phase = serializers.ChoiceField(choices=FilingPhase.choices, default=FilingPhase.INITIAL)
    recipient = serializers.CharField(max_length=200)
    channel = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    reference = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    filed_at = serializers.DateTimeField()
    summary = serializers.CharField(required=False, default="", allow_blank=True)
    late_reason = serializers.CharField(required=False, default="", allow_blank=True)


class DelayIn(serializers.Serializer):
    regime = serializers.ChoiceField(choices=Regime.choices)
    reason = serializers.CharField(max_length=5000)


class ActionItemIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ActionKind.choices)
    owner = UsernameField()
    due_on = serializers.DateField(required=False, allow_null=True, default=None)
    critical = serializers.BooleanField(default=False)


class ActionStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionStatus.choices)


class ReviewIn(serializers.Serializer):
    root_cause = serializers.CharField(required=False, allow_blank=True)
    contributing_factors = serializers.CharField(required=False, allow_blank=True)
    went_well = serializers.CharField(required=False, allow_blank=True)
    went_badly = serializers.CharField(required=False, allow_blank=True)


class DrillOutcomeIn(serializers.Serializer):
    asset = AssetNameField()
    outcome = serializers.ChoiceField(choices=[DrillOutcome.PASSED, DrillOutcome.FAILED])
    evidence = serializers.CharField(max_length=2000)


class DrillStartIn(serializers.Serializer):
    assets = serializers.ListField(child=AssetNameField(), min_length=1)
    scenario = serializers.CharField(max_length=500)


class DrillScheduleIn(serializers.Serializer):
    asset = AssetNameField()
    enabled = serializers.BooleanField()
    scenario = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


# --- views ----------------------------------------------------------------------------


def _out(serializer: type[serializers.Serializer], value: Any, code: int = status.HTTP_200_OK) -> Response:
    return Response(serializer(value).data, status=code)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents and drills. Commands are POSTs on an incident; each appends to its timeline."""

    lookup_field = "public_id"
    lookup_url_kwarg = "incident_id"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return IncidentListOut if self.action == "list" else IncidentOut

    def get_queryset(self) -> QuerySet[Incident]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Incident.objects.none()
        access_incidents(self.request.user)
        params = self.request.query_params
        filters = IncidentFilters(
            status=params.get("status", ""), kind=params.get("kind", ""), severity=params.get("severity", ""),
            q=params.get("q", ""),
        )  # fmt: skip
        return incident_list(filters=filters)

    def get_object(self) -> Incident:
        return self._incident()

    def _incident(self, *, write: bool = False, command: bool = False) -> Incident:
        return access_incident_by_id(
            self.request.user, self.kwargs["incident_id"], for_write=write, for_command=command
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open, active (not closed), or a status"),
            OpenApiParameter("kind", str, enum=IncidentKind.values),
            OpenApiParameter("severity", str, enum=Severity.values),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DeclareIn, responses={201: IncidentOut})
    def create(self, request: Request) -> Response:
        """Declare an incident. Without a severity the house rule picks one from the affected assets."""
        access_incidents(request.user, for_declare=True)
        data = validated(DeclareIn, request)
        incident = incident_declare(by=request_user(request), **data)
        return _out(IncidentOut, incident, status.HTTP_201_CREATED)

    @extend_schema(request=TransitionIn, responses=IncidentOut)
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(command=True)
        data = validated(TransitionIn, request)
        incident = incident_transition(
            incident=incident, to=data["to"], reason=data["reason"], by=request_user(request)
        )
        return _out(IncidentOut, incident)

    @extend_schema(request=SeverityIn, responses=IncidentOut)
    @action(detail=True, methods=["post"])
    def severity(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(command=True)
        data = validated(SeverityIn, request)
        incident = incident_set_severity(incident=incident, by=request_user(request), **data)
        return _out(IncidentOut, incident)

    @extend_schema(methods=["GET"], responses=AssignmentOut(many=True))
    @extend_schema(methods=["POST"], request=RoleIn, responses={201: AssignmentOut})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def roles(self, request: Request, incident_id: str) -> Response:
        """GET: assignment and handoff history. POST: give a role (the holder, if any, is relieved)."""
        if request.method == "GET":
            return Response(AssignmentOut(role_history(incident=self._incident()), many=True).data)
        incident = self._incident(command=True)
        data = validated(RoleIn, request)
        held = role_assign(incident=incident, role=data["role"], user=data["user"], by=request_user(request))
        return _out(AssignmentOut, held, status.HTTP_201_CREATED)

    @extend_schema(request=RelieveIn, responses=AssignmentOut)
    @action(detail=True, methods=["post"], url_path="roles/relieve")
    def relieve(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(command=True)
        data = validated(RelieveIn, request)
        held = role_relieve(incident=incident, role=data["role"], by=request_user(request))
        return _out(AssignmentOut, held)

    @extend_schema(
        responses=inline_serializer(
            "TimelinePage",
            {
                "entries": EntryOut(many=True),
                "next_before": serializers.IntegerField(allow_null=True),
                "newest": serializers.IntegerField(allow_null=True),
            },
        ),
        parameters=[
            OpenApiParameter("before", int, description="only entries older than this seq"),
            OpenApiParameter("after", int, description="only entries newer than this seq"),
            OpenApiParameter("kind", str, enum=[*TIMELINE_KINDS, "other"]),
        ],
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, incident_id: str) -> Response:
        """Newest first, 50 at a time; follow `next_before` for older entries."""
        incident = self._incident()
        params = request.query_params
        before, after = params.get("before", ""), params.get("after", "")
        page = timeline_page(
            incident=incident,
            kind=params.get("kind", ""),
            before=int(before) if before.isdigit() else None,
            after=int(after) if after.isdigit() else None,
        )
        entries = EntryOut(page.entries, many=True).data
        for entry in entries:
            entry["pinned"] = entry["seq"] in page.pinned
        return Response(
            {"entries": entries, "next_before": page.oldest_seq if page.has_more else None, "newest": page.newest_seq}
        )

    @extend_schema(request=NoteIn, responses={201: EntryOut})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(write=True)
        data = validated(NoteIn, request)
        corrects = None
        if data.get("corrects"):
            corrects = Note.objects.filter(public_id=data["corrects"], incident=incident).first()
            if corrects is None:
                raise exceptions.ValidationError({"corrects": "No such note on this incident."})
        note = note_add(incident=incident, body=data["body"], corrects=corrects, by=request_user(request))
        return Response({"note": str(note.public_id), "seq": note.audit_seq}, status=status.HTTP_201_CREATED)

    @extend_schema(request=PinIn, responses={200: PinIn})
    @action(detail=True, methods=["post"])
    def pins(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(write=True)
        data = validated(PinIn, request)
        pinned = pin_set(incident=incident, seq=data["seq"], pinned=data["pinned"], by=request_user(request))
        return Response({"seq": data["seq"], "pinned": pinned})

    @extend_schema(request=AssetsIn, responses=IncidentOut)
    @action(detail=True, methods=["post"])
    def assets(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(write=True)
        data = validated(AssetsIn, request)
        incident_add_assets(incident=incident, assets=data["assets"], by=request_user(request))
        return _out(IncidentOut, self._incident())

    @extend_schema(request=FactsIn, responses=IncidentOut)
    @action(detail=True, methods=["post"])
    def facts(self, request: Request, incident_id: str) -> Response:
        """Key times and data impact; send only the fields that change."""
        incident = self._incident(write=True)
        data = validated(FactsIn, request)
        incident = incident_update_facts(
            incident=incident, changes={k: v for k, v in data.items() if k in FACT_FIELDS}, by=request_user(request)
        )
        return _out(IncidentOut, incident)

    @extend_schema(
        responses=inline_serializer(
            "ClockBoard",
            {"clocks": ClockOut(many=True), "notes": serializers.ListField(child=serializers.CharField())},
        )
    )
    @action(detail=True, methods=["get"])
    def clocks(self, request: Request, incident_id: str) -> Response:
        board = incident_board(incident=self._incident())
        return Response({"clocks": ClockOut(board.clocks, many=True).data, "notes": board.notes})

    @extend_schema(methods=["GET"], responses=FilingOut(many=True))
    @extend_schema(methods=["POST"], request=FilingIn, responses={201: FilingOut})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def filings(self, request: Request, incident_id: str) -> Response:
        """The notifications register: what was filed, with whom, when, under which reference."""
        if request.method == "GET":
            rows: QuerySet[Filing] = self._incident().filings.select_related("recorded_by")
            return Response(FilingOut(rows, many=True).data)
        incident = self._incident(write=True)
        data = validated(FilingIn, request)
        filing = filing_record(incident=incident, by=request_user(request), **data)
        return _out(FilingOut, filing, status.HTTP_201_CREATED)

    @extend_schema(request=DelayIn, responses={201: DelayIn})
    @action(detail=True, methods=["post"], url_path="delay-reasons")
    def delay_reasons(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(write=True)
        data = validated(DelayIn, request)
        row = delay_reason_record(incident=incident, by=request_user(request), **data)
        return Response({"regime": row.regime, "reason": row.reason}, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=ActionItemOut(many=True))
    @extend_schema(methods=["POST"], request=ActionItemIn, responses={201: ActionItemOut})
    @action(detail=True, methods=["get", "post"], url_path="action-items", pagination_class=None)
    def action_items(self, request: Request, incident_id: str) -> Response:
        if request.method == "GET":
            return Response(ActionItemOut(incident_action_items(incident=self._incident()), many=True).data)
        incident = self._incident(write=True)
        data = validated(ActionItemIn, request)
        item = action_item_add(incident=incident, by=request_user(request), **data)
        return _out(ActionItemOut, item, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=ReviewOut)
    @extend_schema(methods=["POST"], request=ReviewIn, responses=ReviewOut)
    @action(detail=True, methods=["get", "post"])
    def review(self, request: Request, incident_id: str) -> Response:
        if request.method == "GET":
            current = Review.objects.filter(incident=self._incident()).first()
            if current is None:
                raise exceptions.NotFound("No review yet.")
            return _out(ReviewOut, current)
        incident = self._incident(write=True)
        data = validated(ReviewIn, request)
        saved = review_save(incident=incident, changes=data, by=request_user(request))
        return _out(ReviewOut, saved)

    @extend_schema(request=None, responses=ReviewOut)
    @action(detail=True, methods=["post"], url_path="review/sign-off")
    def sign_off(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(command=True)
        signed = review_sign_off(incident=incident, by=request_user(request))
        return _out(ReviewOut, signed)

    @extend_schema(request=DrillOutcomeIn, responses=IncidentOut)
    @action(detail=True, methods=["post"], url_path="drill-outcome")
    def drill_outcome(self, request: Request, incident_id: str) -> Response:
        incident = self._incident(write=True)
        data = validated(DrillOutcomeIn, request)
        drill_outcome_record(incident=incident, by=request_user(request), **data)
        return _out(IncidentOut, self._incident())


@extend_schema(request=ActionStatusIn, responses=ActionItemOut)
@api_view(["POST"])
def action_item_status(request: Request, item_id: str) -> Response:
    """Mark an action item done or dropped, or reopen it; its owner may, as may the incident's responders."""
    item: ActionItem = access_action_item_by_id(request.user, item_id)
    data = validated(ActionStatusIn, request)
    item = action_item_set_status(item=item, status=data["status"], by=request_user(request))
    return _out(ActionItemOut, item)


@extend_schema(request=DrillStartIn, responses={201: IncidentOut})
@api_view(["POST"])
def drill_create(request: Request) -> Response:
    """Start a drill now; the caller becomes its commander."""
    access_drills(request.user, for_write=True)
    data = validated(DrillStartIn, request)
    incident = drill_start(
        assets=data["assets"], scenario=data["scenario"], by=request_user(request), commander=request_user(request)
    )
    return _out(IncidentOut, incident, status.HTTP_201_CREATED)


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
