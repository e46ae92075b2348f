"""The organisation profile over the API: read it (reports readers), change it (admins)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import Perm, check
from dr_portal.accounts.models import OrganisationProfile, ProcessorRelationship
from dr_portal.accounts.selectors import organisation_profile, processor_relationship_by_id, processor_relationships
from dr_portal.accounts.services import (
    PROFILE_FIELDS,
    RELATIONSHIP_FIELDS,
    organisation_update,
    processor_add,
    processor_remove,
)
from dr_portal.api_request import request_user


class ProfileIn(serializers.ModelSerializer[OrganisationProfile]):
    class Meta:
        model = OrganisationProfile
        fields = list(PROFILE_FIELDS)


class RelationshipIn(serializers.ModelSerializer[ProcessorRelationship]):
    class Meta:
        model = ProcessorRelationship
        fields = list(RELATIONSHIP_FIELDS)


class RelationshipOut(serializers.ModelSerializer[ProcessorRelationship]):
    id = serializers.UUIDField(source="public_id")
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = ProcessorRelationship
        fields = ["id", *RELATIONSHIP_FIELDS, "kind_label", "created_at"]


class ProfileOut(serializers.ModelSerializer[OrganisationProfile]):
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)
    processors = serializers.SerializerMethodField()

    class Meta:
        model = OrganisationProfile
        fields = [*PROFILE_FIELDS, "updated_at", "updated_by", "processors"]

    def get_processors(self, profile: OrganisationProfile) -> list[dict[str, Any]]:
        return list(RelationshipOut(processor_relationships(), many=True).data)


@extend_schema(methods=["GET"], responses=ProfileOut)
@extend_schema(methods=["PATCH"], request=ProfileIn, responses=ProfileOut)
@api_view(["GET", "PATCH"])
def organisation(request: Request) -> Response:
    """The organisation profile every report prints; admins change any of its fields (others stay as they are)."""
    me = request_user(request)
    if request.method == "GET":
        check(me, Perm.VIEW_REPORTS)
        return Response(ProfileOut(organisation_profile()).data)
    check(me, Perm.MANAGE_ORGANISATION)
    data = ProfileIn(organisation_profile(), data=request.data, partial=True)
    data.is_valid(raise_exception=True)
    profile = organisation_update(changes=dict(data.validated_data), by=me)
    return Response(ProfileOut(profile).data)


@extend_schema(request=RelationshipIn, responses={201: RelationshipOut})
@api_view(["POST"])
def processor_create(request: Request) -> Response:
    """Record a processor / business-associate relationship."""
    me = request_user(request)
    check(me, Perm.MANAGE_ORGANISATION)
    data = RelationshipIn(data=request.data)
    data.is_valid(raise_exception=True)
    relationship = processor_add(by=me, **data.validated_data)
    return Response(RelationshipOut(relationship).data, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def processor_delete(request: Request, relationship_id: str) -> Response:
    me = request_user(request)
    check(me, Perm.MANAGE_ORGANISATION)
    relationship = processor_relationship_by_id(relationship_id=relationship_id)
    if relationship is None:
        raise exceptions.NotFound
    processor_remove(relationship=relationship, by=me)
    return Response(status=status.HTTP_204_NO_CONTENT)
