"""An incident's breach assessments over the API: read every answer, record some with their rationale."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.api_request import InputSerializer, request_user, serialize_many
from incidents.access import access_incident_by_id
from incidents.assessments import CurrentAnswer, incident_assessment
from incidents.services.assessments import assessment_answer


class AnswerOut(serializers.Serializer[CurrentAnswer]):
    question = serializers.CharField(source="question.key")
    regime = serializers.CharField(source="question.regime")
    question_label = serializers.CharField(source="question.label")
    kind = serializers.CharField(source="question.kind")
    value = serializers.JSONField()
    value_label = serializers.CharField(source="label", allow_null=True)
    rationale = serializers.CharField()
    answered_by = serializers.CharField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    seq = serializers.IntegerField(allow_null=True)


class AnswersIn(InputSerializer):
    answers = serializers.DictField(child=serializers.JSONField(), allow_empty=False)
    rationale = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)


@extend_schema(methods=["GET"], responses=AnswerOut(many=True))
@extend_schema(methods=["POST"], request=AnswersIn, responses=AnswerOut(many=True))
@api_view(["GET", "POST"])
def assessments(request: Request, incident_id: str) -> Response:
    """Every assessment question with its newest answer; POST records answers (all or none) with rationale."""
    me = request_user(request)
    if request.method == "GET":
        incident = access_incident_by_id(me, incident_id)
        return Response(serialize_many(AnswerOut, incident_assessment(incident=incident)))
    incident = access_incident_by_id(me, incident_id, for_write=True)
    data = AnswersIn(data=request.data)
    data.is_valid(raise_exception=True)
    assessment_answer(
        incident=incident, answers=data.validated_data["answers"], rationale=data.validated_data["rationale"], by=me
    )
    return Response(serialize_many(AnswerOut, incident_assessment(incident=incident)))
