"""The inventory API's shapes: output and input serializers, no logic."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dr_portal.api_request import InputSerializer
from inventory.fields import ASSET_FIELDS, DEPENDENCY_FIELDS, POLICY_FIELDS, VAULT_FIELDS
from inventory.models import Asset, Backup, Dependency, RecoveryPoint, RecoveryPolicy, Vault, limits
from inventory.readiness import AssetReadiness, Check


class PolicyOut(serializers.ModelSerializer[RecoveryPolicy]):
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


class VaultOut(serializers.ModelSerializer[Vault]):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Vault
        fields = ["id", *VAULT_FIELDS, "created_at"]


SOURCE_HIDDEN = "null for people whose role may not restore: it names a server path, a bucket or a host."


class AssetOut(serializers.ModelSerializer[Asset]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    policy: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    data_classes = serializers.ListField(child=serializers.CharField())
    labels = serializers.DictField(child=serializers.CharField())
    # Where the data lies only for people who may restore (dr_portal/accounts/contents.py).
    source_uri = serializers.CharField(
        source="shown_source_uri", read_only=True, allow_null=True, help_text=SOURCE_HIDDEN
    )
    connector_config = serializers.JSONField(
        source="shown_connector_config", read_only=True, allow_null=True, help_text=SOURCE_HIDDEN
    )

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


class AssetIn(serializers.ModelSerializer[Asset]):
    """Types only: the service's full_clean() judges the values, so every field error comes back at once."""

    kind = serializers.CharField(required=False)
    tier = serializers.IntegerField(required=False)
    environment = serializers.CharField(required=False)
    data_classes = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text=f"Key/value labels; alerts are matched on them. At most {limits.LABELS_MAX} labels, a key at most "
        f"{limits.LABEL_KEY_MAX} characters, a value at most {limits.LABEL_VALUE_MAX}.",
    )
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
        extra_kwargs: dict[str, dict[str, Any]] = {
            **{name: {"required": False, "validators": []} for name in ASSET_FIELDS},
            "fallback": {
                "required": False,
                "validators": [],
                "help_text": f"What serves, in degraded mode, while this is down; at most {limits.FALLBACK_MAX} "
                "characters.",
            },
            "connector_config": {
                "required": False,
                "validators": [],
                "help_text": "The connector's fields as JSON (secrets only as env:NAME or file:/path references); "
                f"at most {limits.CONFIG_BYTES_MAX // 1024} KiB as JSON, each field within its bounds (ports "
                "1-65535, timeouts positive, lists at most 10,000 values; docs/connectors.md lists them all).",
            },
        }


class DependencyOut(serializers.ModelSerializer[Dependency]):
    upstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    downstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Dependency
        fields = ["id", *DEPENDENCY_FIELDS, "created_at"]


class DependencyIn(InputSerializer):
    upstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=Asset.objects.all()
    )
    downstream: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", queryset=Asset.objects.all()
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReleaseIn(InputSerializer):
    reason = serializers.CharField(max_length=2000)


class PointOut(serializers.ModelSerializer[RecoveryPoint]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    # The files screening flagged only for people who may restore (dr_portal/accounts/contents.py).
    stats = serializers.JSONField(source="shown_stats", read_only=True)
    note = serializers.CharField(source="shown_note", read_only=True)  # names a file only to restorers

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
    # Its file list only for people who may restore (dr_portal/accounts/contents.py).
    manifest = serializers.JSONField(source="shown_manifest", read_only=True)

    class Meta(PointOut.Meta):
        fields = [*PointOut.Meta.fields, "manifest"]


class BackupOut(serializers.ModelSerializer[Backup]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    vault: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    percent = serializers.IntegerField(read_only=True, allow_null=True)
    point = serializers.SerializerMethodField()
    error = serializers.CharField(source="shown_error", read_only=True)  # names a file only to restorers

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


class CheckOut(serializers.Serializer[Check]):
    name = serializers.CharField()
    status = serializers.CharField(source="level.key")
    reason = serializers.CharField()


class ReadinessOut(serializers.Serializer[AssetReadiness]):
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
