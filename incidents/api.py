"""The incidents API under /api/v1/: reads through selectors, one action per command, all through the access layer.

A refusal by the rules (an illegal status jump, a role for someone without
the permission, a note on a closed incident…) is a 409 with the reason.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_errors import error_body
from dr_portal.api_keyset import NewestDeclared
from dr_portal.api_request import request_user, serialize_many, validated
from incidents.access import access_action_item_by_id, access_incident_by_id, access_incidents
from incidents.api_serializers import (
    ActionItemIn,
    ActionItemOut,
    ActionStatusIn,
    AssetsIn,
    AssignmentOut,
    ClockOut,
    DeclareIn,
    DelayIn,
    DrillOutcomeIn,
    EntryOut,
    FactsIn,
    IncidentListOut,
    IncidentOut,
    NoteIn,
    PinIn,
    RelieveIn,
    ReviewIn,
    ReviewOut,
    RoleIn,
    SeverityIn,
    TransitionIn,
)
from incidents.cockpit.timeline import entry_texts
from incidents.models import (
    ActionItem,
    Incident,
    IncidentKind,
    Note,
    Review,
    Severity,
)
from incidents.selectors import (
    TIMELINE_KINDS,
    IncidentFilters,
    incident_action_items,
    incident_api_list,
    incident_board,
    role_history,
    timeline_page,
)
from incidents.services import (
    action_item_add,
    action_item_set_status,
    delay_reason_record,
    drill_outcome_record,
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

_T = TypeVar("_T")


def _out(serializer: type[serializers.Serializer[_T]], value: _T, code: int = status.HTTP_200_OK) -> Response:
    return Response(serializer(value).data, status=code)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Incident]):
    """Incidents and drills. Commands are POSTs on an incident; each appends to its timeline."""

    lookup_field = "public_id"
    lookup_url_kwarg = "incident_id"
    pagination_class = NewestDeclared

    def get_serializer_class(self) -> type[serializers.Serializer[Incident]]:
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
        return incident_api_list(filters=filters)

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
        """The most recently declared first, by keyset: follow `next` for older ones."""
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
            return Response(serialize_many(AssignmentOut, role_history(incident=self._incident())))
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
        entries = serialize_many(EntryOut, page.entries)
        texts = entry_texts(incident=incident, entries=page.entries)
        for entry in entries:
            entry["pinned"] = entry["seq"] in page.pinned
            entry["text"] = texts[entry["seq"]]
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
        return Response({"clocks": serialize_many(ClockOut, board.clocks), "notes": board.notes})

    @extend_schema(
        methods=["GET", "POST"],
        request=None,
        responses={410: OpenApiTypes.OBJECT},
        deprecated=True,
        description="Gone: the register moved to `/api/v1/incidents/{incident_id}/notifications/` (one register "
        "for every notice, with recipient kind, count notified and attachment). Old filings were moved there "
        "with the same ids. The answer is the error shape, code `moved`, with `location`, and a `Link` header.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def filings(self, request: Request, incident_id: str) -> Response:
        """Gone: the filings register became the notification register."""
        incident = self._incident()
        location = reverse("api:incident-notifications", args=[incident.public_id])
        body = error_body(
            status.HTTP_410_GONE,
            "moved",
            f"The filings register moved to {location}: send kind (the recipient), channel and sent_at "
            "instead of regime and filed_at; old filings are there with the same ids.",
        )
        body["error"]["location"] = location
        response = Response(body, status=status.HTTP_410_GONE)
        response["Link"] = f'<{location}>; rel="successor-version"'
        return response

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
            return Response(serialize_many(ActionItemOut, incident_action_items(incident=self._incident())))
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
