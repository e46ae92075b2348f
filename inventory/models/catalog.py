"""What must be recoverable: assets and their dependencies, the recovery policies they meet, vaults."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from inventory.models.limits import asset_limit_errors
from inventory.models.uri_sources import URI_CONNECTORS, connector_for_uri
from inventory.paths import has_userinfo, userinfo_refusal
from inventory.policies import STRATEGY_CHOICES, STRATEGY_HELP
from inventory.querysets import AssetQuerySet


@functools.lru_cache(maxsize=8)
def _asset_url_around(prefix: str) -> tuple[str, str]:
    """The asset page's URL before and after its id, under this script prefix (`reverse` costs about 50 µs)."""
    marker = str(uuid.UUID(int=0))
    head, _, tail = reverse("inventory:asset", args=[marker]).partition(marker)
    return head, tail


class AssetKind(models.TextChoices):
    MODEL = "model", "Model"
    DATASET = "dataset", "Dataset"
    FEATURE_STORE = "feature_store", "Feature store"
    VECTOR_INDEX = "vector_index", "Vector index"
    PIPELINE = "pipeline", "Pipeline"
    ENDPOINT = "endpoint", "Endpoint"
    CONFIG = "config", "Configuration"


class DataClass(models.TextChoices):
    NONE = "none", "No personal data"
    PERSONAL = "personal", "Personal data"
    SPECIAL = "special_category", "Special-category data (GDPR Art. 9)"
    PHI = "phi", "Protected health information (HIPAA)"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    DEVELOPMENT = "development", "Development"


class RecoveryPolicy(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    strategy = models.CharField(
        max_length=32,
        choices=STRATEGY_CHOICES,
        help_text=" ".join(f"{label}: {STRATEGY_HELP[value]}" for value, label in STRATEGY_CHOICES),
    )
    rto_minutes = models.PositiveIntegerField("RTO (minutes)", help_text="Longest acceptable time to restore service.")
    rpo_minutes = models.PositiveIntegerField("RPO (minutes)", help_text="Most data, in time, you can afford to lose.")
    mtd_minutes = models.PositiveIntegerField(
        "MTD (minutes)", help_text="Maximum tolerable downtime; the RTO must be shorter."
    )
    backup_cadence_minutes = models.PositiveIntegerField(
        "Backup every (minutes)", help_text="How often the scheduler takes a backup."
    )
    retention_days = models.PositiveIntegerField(help_text="Recovery points older than this are expired.")
    worm_days = models.PositiveIntegerField(
        "WORM days", default=0, help_text="Days each point is immutable (cannot be overwritten or deleted); 0 for none."
    )
    full_chain_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Start a fresh backup chain (store every chunk again) this often; 0 never; empty: the site default.",
    )
    encryption_required = models.BooleanField(default=True)
    allowed_regions = models.JSONField(
        default=list, blank=True, help_text="Regions a vault may be in for this data; empty allows any."
    )
    drill_cadence_days = models.PositiveIntegerField(help_text="A successful recovery drill is due this often.")
    failover_quorum = models.PositiveSmallIntegerField(
        default=1, help_text="How many approvers a manual failover step needs."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "recovery policies"
        constraints = [
            models.CheckConstraint(condition=Q(rto_minutes__lt=F("mtd_minutes")), name="policy_rto_below_mtd"),
            models.CheckConstraint(condition=Q(rto_minutes__gte=1), name="policy_rto_positive"),
            models.CheckConstraint(condition=Q(rpo_minutes__gte=1), name="policy_rpo_positive"),
            models.CheckConstraint(condition=Q(backup_cadence_minutes__gte=1), name="policy_cadence_positive"),
            models.CheckConstraint(condition=Q(retention_days__gte=1), name="policy_retention_positive"),
            models.CheckConstraint(condition=Q(drill_cadence_days__gte=1), name="policy_drill_positive"),
            models.CheckConstraint(condition=Q(failover_quorum__gte=1), name="policy_quorum_positive"),
            # A point must outlive its own immutability, or retention could never remove it.
            models.CheckConstraint(
                condition=Q(worm_days__lte=F("retention_days")), name="policy_worm_within_retention"
            ),
            models.CheckConstraint(
                condition=Q(strategy__in=[v for v, _ in STRATEGY_CHOICES]), name="policy_strategy_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The same rules as the constraints, but with the error beside the field it is about.
        errors: dict[str, str] = {}
        if self.rto_minutes is not None and self.mtd_minutes is not None and self.rto_minutes >= self.mtd_minutes:
            errors["rto_minutes"] = (
                f"The RTO ({self.rto_minutes} min) must be shorter than the MTD ({self.mtd_minutes} min)."
            )
        if self.worm_days is not None and self.retention_days is not None and self.worm_days > self.retention_days:
            errors["worm_days"] = (
                f"WORM days ({self.worm_days}) cannot exceed retention ({self.retention_days} days): "
                "a point must be deletable when it expires."
            )
        regions = self.allowed_regions
        if not isinstance(regions, list) or not all(isinstance(r, str) and r.strip() for r in regions):
            errors["allowed_regions"] = "Give a list of region names, e.g. eu-west-1, eu-central-1."
        if errors:
            raise ValidationError(errors)


class VaultKind(models.TextChoices):
    FILESYSTEM = "filesystem", "Filesystem"
    S3 = "s3", "S3-compatible"


class Vault(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=VaultKind.choices)
    region = models.CharField(max_length=64)
    worm_capable = models.BooleanField(
        "WORM capable", default=False, help_text="Refuses overwrite and delete of a point before its immutable-until."
    )
    config = models.JSONField(
        default=dict,
        blank=True,
        help_text='Filesystem: {"path": "..."}; S3: {"bucket", "prefix", "endpoint_url"}. Never secrets.',
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=VaultKind.values), name="vault_kind_known"),
        ]

    def __str__(self) -> str:
        return self.name


class Serving(models.TextChoices):
    PRIMARY = "primary", "Primary"
    ALTERNATE = "alternate", "Alternate region"
    FALLBACK = "fallback", "Fallback (degraded)"


class Asset(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.SlugField(max_length=100, unique=True, help_text="A short unique name, e.g. fraud-model.")
    title = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=32, choices=AssetKind.choices)
    owner_team = models.CharField(max_length=100)
    tier = models.PositiveSmallIntegerField(
        help_text="0 is mission critical, 3 deferrable.", validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    data_classes = models.JSONField(
        default=list, blank=True, help_text="Any of: none, personal, special_category, phi."
    )
    region = models.CharField(max_length=64)
    environment = models.CharField(max_length=16, choices=Environment.choices, default=Environment.PRODUCTION)
    source_uri = models.CharField(
        "Source URI",
        max_length=500,
        blank=True,
        help_text="A local directory or file, or s3://bucket/prefix; empty when a server connector is the source.",
    )
    connector = models.CharField(
        max_length=32,
        blank=True,
        help_text="How the source is captured: filesystem, s3, sqlite, postgres, redis, mlflow or vector.",
    )
    connector_config = models.JSONField(
        default=dict,
        blank=True,
        help_text="The connector's fields as JSON; secrets only as env:NAME or file:/path references.",
    )
    labels = models.JSONField(default=dict, blank=True, help_text="Key/value labels; alerts are matched on them.")
    fallback = models.TextField(blank=True, help_text="What serves, in degraded mode, while this is down.")
    alternate_region = models.CharField(
        max_length=64, blank=True, help_text="Where a failover restores to and serves from; empty if none."
    )
    serving = models.CharField(
        max_length=16,
        choices=Serving.choices,
        default=Serving.PRIMARY,
        help_text="What serves now; changed only by failover, degrade and failback steps.",
    )
    policy = models.ForeignKey(RecoveryPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="assets")
    vault = models.ForeignKey(
        Vault, null=True, blank=True, on_delete=models.PROTECT, related_name="assets", help_text="Where backups go."
    )
    policy_assigned_at = models.DateTimeField(
        null=True, blank=True, help_text="Starts the drill clock for an asset that has never been drilled."
    )
    last_drill_at = models.DateTimeField(
        null=True, blank=True, help_text="When the newest successful recovery drill of this asset finished."
    )
    # The newest measured recovery of this asset (a drill or a real one), next to the policy's targets.
    measured_at = models.DateTimeField(null=True, blank=True)
    measured_mode = models.CharField(max_length=16, blank=True)
    measured_rto_seconds = models.PositiveIntegerField(null=True, blank=True)
    measured_rpo_seconds = models.PositiveIntegerField(null=True, blank=True)
    measured_run = models.UUIDField(null=True, blank=True, help_text="The recovery run that measured it.")
    # Kept by inventory.services.pointers so that no page or periodic task reads an asset's history.
    newest_point = models.ForeignKey(
        "RecoveryPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    next_backup_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the scheduler next queues a backup (null: work it out)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AssetQuerySet.as_manager()
    _loaded_connector_config: dict[str, Any] | None = None  # set by from_db
    # Set by the catalogue service when the request itself named the connector and gave its config.
    _connector_given = False

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(tier__gte=0, tier__lte=3), name="asset_tier_0_to_3"),
            models.CheckConstraint(condition=Q(kind__in=AssetKind.values), name="asset_kind_known"),
            models.CheckConstraint(condition=Q(environment__in=Environment.values), name="asset_environment_known"),
            models.CheckConstraint(condition=Q(serving__in=Serving.values), name="asset_serving_known"),
        ]
        indexes = [
            models.Index(fields=["owner_team"]),
            models.Index(fields=["tier"]),
            # The inventory list's filters and sorts, each with the name as tie-breaker.
            models.Index(fields=["kind", "name"], name="asset_kind_name"),
            models.Index(fields=["tier", "name"], name="asset_tier_name"),
            models.Index(fields=["owner_team", "name"], name="asset_team_name"),
            models.Index(fields=["region", "name"], name="asset_region_name"),
            models.Index(fields=["next_backup_at"], name="asset_next_backup"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The asset's page: `reverse` once per script prefix, then the id put in (lists link every row)."""
        head, tail = _asset_url_around(get_script_prefix())
        return f"{head}{self.public_id}{tail}"

    @property
    def label(self) -> str:
        return self.title or self.name

    # Where the data lies: the source URI (a server path, a bucket) and the connector's config (a
    # path, a host and port, a database) are shown only to roles that may restore
    # (dr_portal/accounts/contents.py); the connector's kind is shown to everyone.

    @property
    def shown_source(self) -> str:
        """The source for a page: the URI, or words saying what kind of place it is."""
        from dr_portal.accounts.contents import PATH_HIDDEN_NOTE, SOURCE_HIDDEN_NOTE, contents_visible

        if contents_visible() or not self.source_uri:
            return self.source_uri
        return PATH_HIDDEN_NOTE if self.source_uri.startswith(("/", "file:")) else SOURCE_HIDDEN_NOTE

    @property
    def shown_source_uri(self) -> str | None:
        """The source URI for the API and exports; None (hidden) to people who may not restore."""
        from dr_portal.accounts.contents import contents_visible

        return self.source_uri if contents_visible() else None

    @property
    def shown_connector_config(self) -> dict[str, Any] | None:
        """The connector's config for the API and exports; None (hidden) to people who may not restore."""
        from dr_portal.accounts.contents import contents_visible

        return dict(self.connector_config or {}) if contents_visible() else None

    @property
    def data_class_labels(self) -> list[str]:
        return [DataClass(c).label for c in self.data_classes if c in DataClass.values]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        classes = self.data_classes
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            errors["data_classes"] = "Give a list of data classes."
        else:
            unknown = sorted(set(classes) - set(DataClass.values))
            if unknown:
                errors["data_classes"] = f"Unknown data class {unknown[0]!r}; use {', '.join(DataClass.values)}."
            elif DataClass.NONE in classes and len(classes) > 1:
                errors["data_classes"] = "'none' cannot be combined with other data classes."
        labels = self.labels
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            errors["labels"] = 'Labels are text keys with text values, e.g. {"service": "fraud"}.'
        uri = (self.source_uri or "").strip()
        if has_userinfo(uri):
            errors["source_uri"] = str(userinfo_refusal(uri, field="source_uri"))
        elif uri.startswith("s3://"):
            if not uri[5:].split("/")[0]:
                errors["source_uri"] = "An S3 source needs a bucket: s3://bucket/prefix."
        elif uri and not uri.startswith("/") and (not self.connector or self.connector in URI_CONNECTORS):
            # (An application connector's config says where its data is; its URI only describes it.)
            errors["source_uri"] = "Give an absolute path (/data/models/fraud) or s3://bucket/prefix."
        elif not uri and (not self.connector or self.connector in URI_CONNECTORS):
            # A server connector (a registry, a database) is its own source; a folder or bucket is not.
            errors["source_uri"] = "Give the source: an absolute path or s3://bucket/prefix."
        limits = asset_limit_errors(fallback=self.fallback, labels=labels, connector_config=self.connector_config)
        errors.update(limits)
        if "connector_config" not in limits:
            errors.update(self._connector_errors())
        if errors:
            raise ValidationError(errors)

    def _connector_errors(self) -> dict[str, str]:
        from inventory.models.asset_checks import connector_errors

        return connector_errors(self)

    def source_connector(self) -> tuple[str, dict[str, Any]]:
        """The connector kind and config that capture this asset; older assets fall back to source_uri."""
        if self.connector and self.connector not in URI_CONNECTORS:
            return self.connector, dict(self.connector_config or {})
        # For a directory or S3 prefix the source URI is authoritative, whatever the stored config says.
        return connector_for_uri(self.source_uri, self.connector_config if self.connector == "s3" else None)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Asset:
        row = super().from_db(db, field_names, values)
        # What was stored, so that clean() can tell a config given now from one a new URI left stale.
        row._loaded_connector_config = dict(row.__dict__.get("connector_config") or {})
        return row


class Dependency(models.Model):
    """`downstream` needs `upstream` to work: restore upstream first."""

    upstream = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="downstream_links")
    downstream = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="upstream_links")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["upstream__name", "downstream__name"]
        verbose_name_plural = "dependencies"
        constraints = [
            models.UniqueConstraint(fields=["upstream", "downstream"], name="dependency_unique_edge"),
            models.CheckConstraint(condition=~Q(upstream=F("downstream")), name="dependency_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.upstream_id} → {self.downstream_id}"
