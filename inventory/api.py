"""The inventory API under /api/v1/inventory/: reads as viewsets, each write one command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, parser_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from dr_portal.accounts.access import NotFoundOrForbidden
from dr_portal.api_request import PublicIdLookup, request_user
from inventory.access import (
    access_asset_by_id,
    access_backup_by_id,
    access_inventory,
    access_plan_by_id,
    access_policy_by_id,
)
from inventory.fields import ASSET_FIELDS, DEPENDENCY_FIELDS, POLICY_FIELDS, VAULT_FIELDS
from inventory.models import Asset, Backup, Dependency, RecoveryPlan, RecoveryPoint, RecoveryPolicy, Vault
from inventory.porting import ImportFailed, export_yaml, import_file
from inventory.readiness import AssetReadiness, Level
from inventory.selectors import (
    SORTS as READINESS_SORTS,
)
from inventory.selectors import (
    blast_radius,
    readiness_counts,
    readiness_page,
    readiness_rollups,
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

# --- serializers (shapes only) -----------------------------------------------------


class PolicyOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = RecoveryPolicy
        fields = ["id", *POLICY_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class PolicyIn(PolicyOut):
    allowed_regions = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    class Meta(PolicyOut.Meta):
        # The database's constraints and model.clean() are checked by the service.
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class VaultOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Vault
        fields = ["id", *VAULT_FIELDS, "created_at"]


class AssetOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    policy: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    data_classes = serializers.ListField(child=serializers.CharField())
    labels = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Asset
        fields = [
            "id",
            *ASSET_FIELDS,
            "serving",
            "last_drill_at",
            "measured_at",
            "measured_mode",
            "measured_rto_seconds",
            "measured_rpo_seconds",
            "created_at",
            "updated_at",
        ]


class AssetIn(serializers.ModelSerializer):
    """Types only: the service's full_clean() judges the values, so every field error comes back at once."""

    kind = serializers.CharField(required=False)
    tier = serializers.IntegerField(required=False)
    environment = serializers.CharField(required=False)
    data_classes = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    policy: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=RecoveryPolicy.objects.all(), required=False, allow_null=True
    )
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=Vault.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Asset
        fields = ASSET_FIELDS
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {name: {"required": False, "validators": []} for name in ASSET_FIELDS}


class DependencyOut(serializers.ModelSerializer):
    upstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    downstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Dependency
        fields = ["id", *DEPENDENCY_FIELDS, "created_at"]


class DependencyIn(serializers.Serializer):
    upstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=Asset.objects.all()
    )
    downstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=Asset.objects.all()
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReleaseIn(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class PointOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = RecoveryPoint
        fields = [
            "id",
            "asset",
            "vault",
            "status",
            "data_as_of",
            "size_bytes",
            "file_count",
            "stats",
            "manifest_sha256",
            "key_id",
            "immutable_until",
            "verified_at",
            "expired_at",
            "note",
            "created_at",
        ]


class PointDetailOut(PointOut):
    class Meta(PointOut.Meta):
        fields = [*PointOut.Meta.fields, "manifest"]


class BackupOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    point = serializers.SerializerMethodField()

    class Meta:
        model = Backup
        fields = [
            "id",
            "asset",
            "vault",
            "status",
            "trigger",
            "attempts",
            "bytes_done",
            "bytes_total",
            "percent",
            "error_code",
            "error",
            "point",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_point(self, backup: Backup) -> str | None:
        point = getattr(backup, "point", None)
        return str(point.public_id) if point else None


class CheckOut(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField(source="level.key")
    reason = serializers.CharField()


class ReadinessOut(serializers.Serializer):
    asset = serializers.CharField(source="asset.name")
    asset_id = serializers.UUIDField(source="asset.public_id")
    tier = serializers.IntegerField(source="asset.tier")
    team = serializers.CharField(source="asset.owner_team")
    status = serializers.CharField(source="level.key")
    backup_age_seconds = serializers.SerializerMethodField()
    rpo_seconds = serializers.SerializerMethodField()
    checks = CheckOut(many=True)
    assessed_at = serializers.DateTimeField(allow_null=True)

    def get_backup_age_seconds(self, item: AssetReadiness) -> float | None:
        return item.backup_age.total_seconds() if item.backup_age is not None else None

    def get_rpo_seconds(self, item: AssetReadiness) -> float | None:
        return item.rpo.total_seconds() if item.rpo is not None else None


# --- viewsets ------------------------------------------------------------------------


class _Readable(PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        access_inventory(request.user)


class _Editable(_Readable):
    """POST creates and PATCH edits through the entity's create and update services, one way for every entity."""

    input_class: type[serializers.Serializer[Any]]
    noun: str  # the keyword the update service takes its row by
    access_by_id: Callable[..., Model]
    create_service: Callable[..., Model]
    update_service: Callable[..., Model]

    def create(self, request: Request) -> Response:
        access_inventory(request.user, for_write=True)
        return self._save(request, None)

    def partial_update(self, request: Request, id: str) -> Response:
        return self._save(request, self.access_by_id(request.user, id, for_write=True))

    def _save(self, request: Request, instance: Model | None) -> Response:
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
class AssetViewSet(_Editable):
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
class PolicyViewSet(_Editable):
    serializer_class = PolicyOut
    input_class = PolicyIn
    noun = "policy"
    access_by_id = staticmethod(access_policy_by_id)
    create_service = staticmethod(policy_create)
    update_service = staticmethod(policy_update)

    def get_queryset(self) -> QuerySet[RecoveryPolicy]:
        return RecoveryPolicy.objects.order_by("name")


class VaultViewSet(_Readable):
    serializer_class = VaultOut

    def get_queryset(self) -> QuerySet[Vault]:
        return Vault.objects.order_by("name")


class PointViewSet(_Readable):
    filterset_fields = ["status"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return PointDetailOut if self.action == "retrieve" else PointOut

    @extend_schema(parameters=[OpenApiParameter("asset", str, description="Only this asset's points (its name).")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RecoveryPoint]:
        points = RecoveryPoint.objects.select_related("asset", "vault").order_by("-data_as_of")
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


class BackupViewSet(_Readable):
    serializer_class = BackupOut
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[Backup]:
        return Backup.objects.select_related("asset", "vault", "point").order_by("-created_at")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(BackupOut(access_backup_by_id(request.user, kwargs["id"])).data)


class DependencyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
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


# --- single endpoints ----------------------------------------------------------------


class RollupOut(serializers.Serializer):
    key = serializers.CharField()
    worst = serializers.CharField(source="worst.key")
    counts = serializers.DictField(child=serializers.IntegerField())


class ReadinessQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=[level.key for level in Level], required=False)
    tier = serializers.IntegerField(min_value=0, max_value=3, required=False)
    team = serializers.CharField(max_length=100, required=False)
    sort = serializers.ChoiceField(
        choices=[*READINESS_SORTS, *(f"-{name}" for name in READINESS_SORTS)], required=False, default="status"
    )


@extend_schema(parameters=[ReadinessQuery], responses=ReadinessOut(many=True))
@api_view(["GET"])
def readiness(request: Request) -> Response:
    """Each asset's stored readiness with its reasons, a page at a time; filter by status, tier or team."""
    access_inventory(request.user)
    query = ReadinessQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    assets = readiness_page(**query.validated_data)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(assets, request) or []
    now = timezone.now()
    return paginator.get_paginated_response(ReadinessOut([stored_readiness(a, now=now) for a in page], many=True).data)


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
            "by_tier": RollupOut(readiness_rollups(by="tier"), many=True).data,
            "by_team": RollupOut(readiness_rollups(by="team"), many=True).data,
        }
    )


class BlastRadiusIn(serializers.Serializer):
    assets = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)


class AssetRef(serializers.Serializer):
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
            "failed": AssetRef(result.failed, many=True).data,
            "impacted": AssetRef(result.impacted, many=True).data,
            "restore_groups": [AssetRef(group, many=True).data for group in result.restore_groups],
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
        summary = import_file(name=upload.name or "upload", data=upload.read(), by=request_user(request))
    except ImportFailed as failed:
        raise exceptions.ValidationError({"file": failed.errors}) from None
    return Response({"summary": str(summary)}, status=status.HTTP_201_CREATED)


@extend_schema(responses={(200, "application/yaml"): str})
@api_view(["GET"])
def export_view(request: Request) -> HttpResponse:
    """The whole catalogue as YAML, in the format the import takes."""
    access_inventory(request.user)
    return HttpResponse(export_yaml(), content_type="application/yaml")


# --- recovery plans ------------------------------------------------------------------


class PlanOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    definition = serializers.SerializerMethodField()

    class Meta:
        model = RecoveryPlan
        fields = ["id", "name", "description", "version", "created_at", "updated_at", "definition"]

    def get_definition(self, plan: RecoveryPlan) -> dict[str, Any]:
        return plan_to_data(plan)


class PlanIn(serializers.Serializer):
    """The same shape as the plan editor's YAML: name, description, assets, steps."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)
    assets = serializers.ListField(child=serializers.CharField(), required=False)
    steps = serializers.ListField(child=serializers.DictField())


class PlanDefaultIn(serializers.Serializer):
    assets = serializers.ListField(child=serializers.CharField(), min_length=1)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class PlanViewSet(_Readable):
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
