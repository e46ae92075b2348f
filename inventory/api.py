"""The inventory API under /api/v1/inventory/: reads as viewsets, each write one command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import NotFoundOrForbidden
from dr_portal.accounts.contents import contents_visible
from dr_portal.api_keyset import NewestCreated, NewestData
from dr_portal.api_request import InputSerializer, PublicIdLookup, request_user
from inventory.access import (
    access_asset_by_id,
    access_backup_by_id,
    access_inventory,
    access_plan_by_id,
    access_policy_by_id,
)
from inventory.aliases import alias_context
from inventory.api_serializers import (
    AssetIn,
    AssetOut,
    BackupOut,
    DependencyIn,
    DependencyOut,
    PointDetailOut,
    PointOut,
    PolicyIn,
    PolicyOut,
    ReadinessOut,
    ReleaseIn,
    VaultOut,
)
from inventory.models import Asset, Backup, Dependency, RecoveryPlan, RecoveryPoint, RecoveryPolicy, Vault
from inventory.selectors import (
    stored_readiness,
)
from inventory.services import (
    asset_create,
    asset_update,
    backup_request,
    dependency_add,
    dependency_remove,
    plan_default_data,
    plan_save,
    plan_to_data,
    point_release,
    policy_create,
    policy_update,
)

# --- viewsets ------------------------------------------------------------------------


# The model a viewset serves.
_M = TypeVar("_M", bound=Model)


class _Readable(PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[_M]):
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        access_inventory(request.user)


class _Editable(_Readable[_M]):
    """POST creates and PATCH edits through the entity's create and update services, one way for every entity."""

    input_class: type[serializers.ModelSerializer[_M]]
    noun: str  # the keyword the update service takes its row by
    access_by_id: Callable[..., _M]
    create_service: Callable[..., _M]
    update_service: Callable[..., _M]

    def create(self, request: Request) -> Response:
        access_inventory(request.user, for_write=True)
        return self._save(request, None)

    def partial_update(self, request: Request, id: str) -> Response:
        return self._save(request, self.access_by_id(request.user, id, for_write=True))

    def _save(self, request: Request, instance: _M | None) -> Response:
        data = self.input_class(data=request.data, partial=instance is not None)
        data.is_valid(raise_exception=True)
        if instance is None:
            saved = self.create_service(by=request_user(request), fields=data.validated_data)
        else:
            saved = self.update_service(**{self.noun: instance}, by=request_user(request), fields=data.validated_data)
        code = status.HTTP_201_CREATED if instance is None else status.HTTP_200_OK
        return Response(self.get_serializer_class()(saved).data, status=code)


@extend_schema_view(
    create=extend_schema(request=AssetIn, responses={201: AssetOut}),
    partial_update=extend_schema(request=AssetIn, responses=AssetOut),
)
class AssetViewSet(_Editable[Asset]):
    serializer_class = AssetOut
    input_class = AssetIn
    noun = "asset"
    access_by_id = staticmethod(access_asset_by_id)
    create_service = staticmethod(asset_create)
    update_service = staticmethod(asset_update)
    filterset_fields = ["kind", "tier", "owner_team", "region", "environment"]

    def get_queryset(self) -> QuerySet[Asset]:
        return Asset.objects.select_related("policy", "vault").order_by("name")

    @extend_schema(responses=ReadinessOut)
    @action(detail=True, methods=["get"])
    def readiness(self, request: Request, id: str) -> Response:
        asset = access_asset_by_id(request.user, id)
        return Response(ReadinessOut(stored_readiness(asset)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("model", str, description="registered model name"),
            OpenApiParameter("alias", str, description="alias name, e.g. champion"),
            OpenApiParameter("at", str, description="ISO time (UTC when no offset); with model and alias"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def aliases(self, request: Request, id: str) -> Response:
        """An MLflow asset's alias history from its points; with model, alias and at, the version it named then."""
        asset = access_asset_by_id(request.user, id)
        if not contents_visible():
            raise exceptions.PermissionDenied("Your role may not see what recovery points hold.")
        found = alias_context(asset, request.query_params)
        if found is None:
            return Response({"detail": f"{asset.name} has no MLflow capture with aliases."}, status=404)
        if "error" in found:
            return Response({"detail": found["error"]}, status=400)
        body = {"changes": found["changes"], "models": found["models"], "aliases": found["aliases"]}
        if "answer" in found:
            body["answer"] = found["answer"]
        return Response(body)

    @extend_schema(request=None, responses={202: BackupOut})
    @action(detail=True, methods=["post"])
    def backup(self, request: Request, id: str) -> Response:
        """Start a backup now (or get the one already queued or running)."""
        asset = access_asset_by_id(request.user, id, for_backup=True)
        backup = backup_request(asset=asset, by=request_user(request))
        return Response(BackupOut(backup).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    create=extend_schema(request=PolicyIn, responses={201: PolicyOut}),
    partial_update=extend_schema(request=PolicyIn, responses=PolicyOut),
)
class PolicyViewSet(_Editable[RecoveryPolicy]):
    serializer_class = PolicyOut
    input_class = PolicyIn
    noun = "policy"
    access_by_id = staticmethod(access_policy_by_id)
    create_service = staticmethod(policy_create)
    update_service = staticmethod(policy_update)

    def get_queryset(self) -> QuerySet[RecoveryPolicy]:
        return RecoveryPolicy.objects.order_by("name")


class VaultViewSet(_Readable[Vault]):
    serializer_class = VaultOut

    def get_queryset(self) -> QuerySet[Vault]:
        return Vault.objects.order_by("name")


class PointViewSet(_Readable[RecoveryPoint]):
    filterset_fields = ["status"]
    pagination_class = NewestData

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return PointDetailOut if self.action == "retrieve" else PointOut

    @extend_schema(parameters=[OpenApiParameter("asset", str, description="Only this asset's points (its name).")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RecoveryPoint]:
        points = RecoveryPoint.objects.select_related("asset", "vault").order_by("-data_as_of", "-pk")
        asset = self.request.query_params.get("asset")
        return points.filter(asset__name=asset) if asset else points

    @extend_schema(request=ReleaseIn, responses=PointDetailOut)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, id: str) -> Response:
        """Declare a suspicious point clean (audited, with the reason), so it can be restored."""
        point = self.get_object()
        access_asset_by_id(request.user, point.asset.public_id, for_write=True)
        data = ReleaseIn(data=request.data)
        data.is_valid(raise_exception=True)
        point = point_release(point_id=point.pk, by=request_user(request), reason=data.validated_data["reason"])
        return Response(PointDetailOut(point).data)


class BackupViewSet(_Readable[Backup]):
    serializer_class = BackupOut
    filterset_fields = ["status"]
    pagination_class = NewestCreated

    def get_queryset(self) -> QuerySet[Backup]:
        return Backup.objects.select_related("asset", "vault", "point").order_by("-created_at", "-pk")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(BackupOut(access_backup_by_id(request.user, kwargs["id"])).data)


class DependencyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Dependency]):
    serializer_class = DependencyOut

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        access_inventory(request.user)

    def get_queryset(self) -> QuerySet[Dependency]:
        return Dependency.objects.select_related("upstream", "downstream").order_by(
            "upstream__name", "downstream__name"
        )

    @extend_schema(request=DependencyIn, responses={201: DependencyOut})
    def create(self, request: Request) -> Response:
        access_inventory(request.user, for_write=True)
        data = DependencyIn(data=request.data)
        data.is_valid(raise_exception=True)
        edge = dependency_add(
            upstream=data.validated_data["upstream"],
            downstream=data.validated_data["downstream"],
            note=data.validated_data["note"],
            by=request_user(request),
        )
        return Response(DependencyOut(edge).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        access_inventory(request.user, for_write=True)
        edge = Dependency.objects.filter(pk=pk if str(pk).isdigit() else 0).first()
        if edge is None:
            raise NotFoundOrForbidden
        dependency_remove(dependency=edge, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- recovery plans ------------------------------------------------------------------


class PlanOut(serializers.ModelSerializer[RecoveryPlan]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    definition = serializers.SerializerMethodField()

    class Meta:
        model = RecoveryPlan
        fields = ["id", "name", "description", "version", "created_at", "updated_at", "definition"]

    def get_definition(self, plan: RecoveryPlan) -> dict[str, Any]:
        return plan_to_data(plan)


class PlanIn(InputSerializer):
    """The same shape as the plan editor's YAML: name, description, assets, steps."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)
    assets = serializers.ListField(child=serializers.CharField(), required=False)
    steps = serializers.ListField(child=serializers.DictField())


class PlanDefaultIn(InputSerializer):
    assets = serializers.ListField(child=serializers.CharField(), min_length=1)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class PlanViewSet(_Readable[RecoveryPlan]):
    serializer_class = PlanOut

    def get_queryset(self) -> QuerySet[RecoveryPlan]:
        return RecoveryPlan.objects.order_by("name")

    @extend_schema(request=PlanIn, responses={201: PlanOut})
    def create(self, request: Request) -> Response:
        access_inventory(request.user, for_write=True)
        data = PlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        plan = plan_save(data=data.validated_data, by=request_user(request))
        return Response(PlanOut(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PlanIn, responses=PlanOut)
    def update(self, request: Request, id: str) -> Response:
        """Replace the plan's steps; its version goes up."""
        plan = access_plan_by_id(request.user, id, for_write=True)
        data = PlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        plan = plan_save(data=data.validated_data, by=request_user(request), plan=plan)
        return Response(PlanOut(plan).data)

    @extend_schema(request=PlanDefaultIn, responses=dict)
    @action(detail=False, methods=["post"])
    def default(self, request: Request) -> Response:
        """A default plan for these assets from their dependency order (not saved; post it to create)."""
        access_inventory(request.user, for_write=True)
        data = PlanDefaultIn(data=request.data)
        data.is_valid(raise_exception=True)
        names = data.validated_data["assets"]
        assets = list(Asset.objects.filter(name__in=names))
        unknown = sorted(set(names) - {a.name for a in assets})
        if unknown:
            raise exceptions.ValidationError({"assets": [f"Unknown asset {unknown[0]!r}."]})
        return Response(plan_default_data(assets=assets, name=data.validated_data.get("name", "")))
