"""Load the demo estate: real files under var/, vaults, policies, ~30 assets, first backups queued.

Safe to run again: files are only written when missing, rows are matched by
name, and a backup is queued only for an asset that has no good point and
none in flight. Some assets are left deliberately at risk or in breach.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from inventory import demo_connectors
from inventory.engine import generate_key_file
from inventory.models import Asset, Backup, RecoveryPlan, RecoveryPoint, RecoveryPolicy, Vault
from inventory.services import (
    BackupRefused,
    asset_create,
    asset_update,
    backup_request,
    dependency_add,
    plan_default_data,
    plan_save,
    policy_create,
    policy_default_for_tier,
    vault_create,
)
from inventory.services.readiness import readiness_sweep

MB = 1024 * 1024


@dataclass(frozen=True)
class DemoAsset:
    name: str
    title: str
    kind: str
    team: str
    tier: int
    region: str
    files: dict[str, int]  # relative path -> size in bytes
    data: list[str] = field(default_factory=lambda: ["none"])
    policy: str | None = "tier"  # "tier": the tier default; None: no policy; else a policy name
    vault: str | None = "primary-eu"
    labels: dict[str, str] = field(default_factory=dict)
    fallback: str = ""
    missing_source: bool = False
    drill_clock_days: int = 0  # how long ago the policy was assigned (starts the drill clock)


ESTATE: list[DemoAsset] = [
    DemoAsset(
        "fraud-detection-model",
        "Card fraud gradient-boosted model",
        "model",
        "risk-ml",
        0,
        "eu-west-1",
        {"model.bin": 6 * MB, "thresholds.json": 2_000, "calibration.csv": 40_000},
        ["personal"],
        labels={"service": "fraud", "component": "model"},
        fallback="Rules engine with static thresholds",
    ),
    DemoAsset(
        "fraud-feature-store",
        "Real-time card features",
        "feature_store",
        "risk-ml",
        0,
        "eu-west-1",
        {"features/part-0000.parquet": 3 * MB, "features/part-0001.parquet": 3 * MB, "schema.json": 3_000},
        ["personal"],
        labels={"service": "fraud", "component": "features"},
    ),
    DemoAsset(
        "fraud-scoring-eu",
        "Fraud scoring endpoint (EU)",
        "endpoint",
        "risk-platform",
        0,
        "eu-west-1",
        {"deployment.yaml": 4_000, "autoscaling.yaml": 1_500},
        labels={"service": "fraud", "region": "eu"},
        fallback="Route to fraud-scoring-us",
    ),
    DemoAsset(
        "fraud-scoring-us",
        "Fraud scoring endpoint (US)",
        "endpoint",
        "risk-platform",
        0,
        "us-east-1",
        {"deployment.yaml": 4_000, "autoscaling.yaml": 1_500},
        labels={"service": "fraud", "region": "us"},
        policy="Tier 0 — mission critical",
        vault="dr-us",
        fallback="Route to fraud-scoring-eu",
    ),
    DemoAsset(
        "payments-gateway-config",
        "Model routing and feature flags",
        "config",
        "risk-platform",
        0,
        "eu-west-1",
        {"routing.yaml": 6_000, "flags.json": 2_500},
    ),
    DemoAsset(
        "clinical-llm-adapter",
        "Clinical notes LoRA adapter",
        "model",
        "clinical-ai",
        0,
        "eu-west-1",
        {"adapter_model.safetensors": 5 * MB, "adapter_config.json": 900, "tokenizer.json": 600_000},
        ["phi", "special_category"],
        policy="Clinical PHI",
        labels={"service": "clinical-notes"},
        fallback="Manual coding queue",
    ),
    DemoAsset(
        "clinical-inference-eu",
        "Clinical summarisation endpoint",
        "endpoint",
        "clinical-ai",
        0,
        "eu-west-1",
        {"deployment.yaml": 3_500},
        ["phi"],
        policy="Clinical PHI",
        labels={"service": "clinical-notes"},
    ),
    DemoAsset(
        "support-embeddings-index",
        "Support articles embeddings",
        "vector_index",
        "support-ai",
        1,
        "eu-west-1",
        {"index.faiss": 4 * MB, "ids.npy": 300_000, "meta.jsonl": 200_000},
        ["personal"],
        policy="EU personal data",
        labels={"service": "support-assistant"},
    ),
    DemoAsset(
        "support-rag-pipeline",
        "Retrieval pipeline definition",
        "pipeline",
        "support-ai",
        1,
        "eu-west-1",
        {"pipeline.yaml": 5_000, "prompts/answer.txt": 3_000},
        labels={"service": "support-assistant"},
    ),
    DemoAsset(
        "support-chat-endpoint",
        "Support assistant endpoint",
        "endpoint",
        "support-ai",
        1,
        "eu-west-1",
        {"deployment.yaml": 3_000},
        labels={"service": "support-assistant"},
        fallback="Human agents only",
    ),
    DemoAsset(
        "credit-risk-model",
        "Credit default model",
        "model",
        "credit-ml",
        1,
        "eu-west-1",
        {"model.onnx": 3 * MB, "features.json": 5_000},
        ["personal"],
        drill_clock_days=80,
    ),
    DemoAsset(
        "credit-training-dataset",
        "Loan applications 2019-2025",
        "dataset",
        "credit-ml",
        1,
        "eu-west-1",
        {"train.parquet": 5 * MB, "test.parquet": MB, "README.md": 2_000},
        ["personal"],
        policy="EU personal data",
    ),
    DemoAsset(
        "recsys-model",
        "Product recommendations",
        "model",
        "growth-ml",
        1,
        "eu-west-1",
        {"two_tower.pt": 4 * MB},
        drill_clock_days=120,
    ),
    DemoAsset(
        "recsys-feature-store",
        "User and item features",
        "feature_store",
        "growth-ml",
        1,
        "eu-west-1",
        {"users.parquet": 2 * MB, "items.parquet": MB},
        ["personal"],
    ),
    DemoAsset(
        "kyc-document-index",
        "Identity document embeddings",
        "vector_index",
        "credit-ml",
        1,
        "eu-west-1",
        {"index.hnsw": 2 * MB},
        ["personal", "special_category"],
        policy="EU personal data",
    ),
    DemoAsset("churn-model", "Subscriber churn model", "model", "growth-ml", 2, "eu-west-1", {"model.pkl": MB}),
    DemoAsset(
        "churn-training-dataset",
        "Churn labels and events",
        "dataset",
        "growth-ml",
        2,
        "eu-west-1",
        {"events.csv.gz": 2 * MB},
        ["personal"],
    ),
    DemoAsset(
        "marketing-segments",
        "Customer segments",
        "dataset",
        "growth-ml",
        2,
        "eu-west-1",
        {"segments.parquet": MB},
        ["personal"],
    ),
    DemoAsset(
        "ocr-pipeline",
        "Invoice OCR pipeline",
        "pipeline",
        "ops-ml",
        2,
        "eu-west-1",
        {"pipeline.yaml": 4_000, "model/ocr.onnx": 2 * MB},
    ),
    DemoAsset(
        "translation-model", "Support translation model", "model", "support-ai", 2, "eu-west-1", {"model.bin": 3 * MB}
    ),
    DemoAsset(
        "forecasting-pipeline",
        "Demand forecasting DAG",
        "pipeline",
        "ops-ml",
        2,
        "eu-west-1",
        {"dag.py.txt": 8_000, "config.yaml": 1_000},
    ),
    DemoAsset(
        "claims-embeddings-us",
        "Claims embeddings copied to the US",
        "vector_index",
        "clinical-ai",
        2,
        "us-east-1",
        {"index.faiss": 2 * MB},
        ["personal"],
        policy="EU personal data",
        vault="dr-us",
    ),
    DemoAsset(
        "legacy-churn-model",
        "Old churn model still serving one market",
        "model",
        "growth-ml",
        3,
        "eu-west-1",
        {"model.pkl": 500_000},
        policy=None,
    ),
    DemoAsset(
        "research-notebook-config",
        "Shared notebook environment",
        "config",
        "research",
        3,
        "eu-west-1",
        {"environment.yml": 2_000},
    ),
    DemoAsset(
        "archive-dataset",
        "2018 transactions archive",
        "dataset",
        "risk-ml",
        3,
        "eu-west-1",
        {"archive.parquet": MB},
        ["personal"],
        missing_source=True,
    ),
    DemoAsset(
        "sandbox-llm", "Internal sandbox LLM weights", "model", "research", 3, "eu-west-1", {"weights.bin": 2 * MB}
    ),
    DemoAsset(
        "eval-benchmarks-dataset",
        "Model evaluation sets",
        "dataset",
        "research",
        3,
        "eu-west-1",
        {"benchmarks.jsonl": MB},
    ),
    DemoAsset(
        "nas-exports",
        "Nightly exports to the old NAS",
        "dataset",
        "ops-ml",
        3,
        "eu-west-1",
        {"exports.csv": 500_000},
        vault="small-nas",
    ),
]

# Where an endpoint can be served from instead, for failover steps.
ALTERNATES = {"fraud-scoring-eu": "eu-central-1", "support-chat-endpoint": "eu-central-1"}
# A recovery plan per service, generated from the dependency order (name -> assets).
PLANS = {
    "Fraud service recovery": ["fraud-feature-store", "fraud-detection-model", "fraud-scoring-eu"],
    "Support assistant recovery": ["support-embeddings-index", "support-rag-pipeline", "support-chat-endpoint"],
}

DEPENDENCIES = [
    ("fraud-feature-store", "fraud-detection-model"),
    ("fraud-detection-model", "fraud-scoring-eu"),
    ("fraud-detection-model", "fraud-scoring-us"),
    ("payments-gateway-config", "fraud-scoring-eu"),
    ("payments-gateway-config", "fraud-scoring-us"),
    ("clinical-llm-adapter", "clinical-inference-eu"),
    ("support-embeddings-index", "support-rag-pipeline"),
    ("support-rag-pipeline", "support-chat-endpoint"),
    ("translation-model", "support-chat-endpoint"),
    ("credit-training-dataset", "credit-risk-model"),
    ("kyc-document-index", "credit-risk-model"),
    ("recsys-feature-store", "recsys-model"),
    ("churn-training-dataset", "churn-model"),
]

VAULTS: list[dict[str, Any]] = [
    {
        "name": "primary-eu",
        "kind": "filesystem",
        "region": "eu-west-1",
        "worm_capable": True,
        "config": {"path": "vaults/primary-eu"},
    },
    {
        "name": "dr-us",
        "kind": "filesystem",
        "region": "us-east-1",
        "worm_capable": False,
        "config": {"path": "vaults/dr-us"},
    },
    # Keeps a free-space reserve far beyond any disk, so every backup into it fails as "vault full".
    {
        "name": "small-nas",
        "kind": "filesystem",
        "region": "eu-west-1",
        "worm_capable": False,
        "config": {"path": "vaults/small-nas", "reserve_bytes": 1 << 60},
    },
]

POLICIES: list[dict[str, Any]] = [
    {
        "name": "Clinical PHI",
        "description": "PHI under HIPAA and GDPR Art. 9; EU only, long WORM.",
        "strategy": "warm_standby",
        "rto_minutes": 60,
        "rpo_minutes": 15,
        "mtd_minutes": 240,
        "backup_cadence_minutes": 10,
        "retention_days": 60,
        "worm_days": 30,
        "encryption_required": True,
        "allowed_regions": ["eu-west-1", "eu-central-1"],
        "drill_cadence_days": 30,
        "failover_quorum": 2,
    },
    {
        "name": "EU personal data",
        "description": "Personal data that must stay in the EU.",
        "strategy": "managed_backup",
        "rto_minutes": 240,
        "rpo_minutes": 60,
        "mtd_minutes": 1440,
        "backup_cadence_minutes": 30,
        "retention_days": 35,
        "worm_days": 7,
        "encryption_required": True,
        "allowed_regions": ["eu-west-1", "eu-central-1"],
        "drill_cadence_days": 90,
        "failover_quorum": 1,
    },
]


def _write_file(path: Path, size: int, seed: str) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 - deterministic filler, not secrets
    part = path.with_suffix(path.suffix + ".part")
    with part.open("wb") as out:
        left = size
        while left:
            step = min(left, MB)
            out.write(rng.randbytes(step))
            left -= step
    part.replace(path)


class Command(BaseCommand):
    help = "Create the demo estate (idempotent) and queue first backups for the worker."

    def handle(self, *args: Any, **options: Any) -> None:
        root = settings.VAR_DIR / "demo-sources"
        if not settings.VAULT_KEY_FILE.exists():
            generate_key_file(settings.VAULT_KEY_FILE.parent, key_id=settings.VAULT_KEY_ID)
        total = 0
        for item in ESTATE:
            for rel, size in item.files.items():
                if not item.missing_source:
                    _write_file(root / item.name / rel, size, f"{item.name}/{rel}")
                    total += size
        for fields in VAULTS:
            if not Vault.objects.filter(name=fields["name"]).exists():
                vault_create(by=None, fields=fields)
        for tier in range(4):
            policy_default_for_tier(tier=tier)
        for fields in POLICIES:
            if not RecoveryPolicy.objects.filter(name=fields["name"]).exists():
                policy_create(by=None, fields=fields)
        created = self._assets(root)
        for name, (kind, config) in demo_connectors.build(settings.VAR_DIR / "demo-systems").items():
            asset = Asset.objects.get(name=name)
            if asset.connector != kind:
                source = config.get("path") or config.get("uri")
                asset_update(
                    asset=asset, by=None, fields={"source_uri": source, "connector": kind, "connector_config": config}
                )
        for up, down in DEPENDENCIES:
            dependency_add(upstream=Asset.objects.get(name=up), downstream=Asset.objects.get(name=down), by=None)
        for name, region in ALTERNATES.items():
            asset = Asset.objects.get(name=name)
            if asset.alternate_region != region:
                asset_update(asset=asset, by=None, fields={"alternate_region": region})
        for plan_name, names in PLANS.items():
            if not RecoveryPlan.objects.filter(name=plan_name).exists():
                plan_save(data=plan_default_data(assets=Asset.objects.filter(name__in=names), name=plan_name), by=None)
        queued = self._first_backups()
        readiness_sweep()  # rows the migration left due, so the first page is not waiting for beat
        self.stdout.write(
            f"Demo estate: {len(ESTATE)} assets ({created} new), {total / MB:.0f} MB of source files under "
            f"{root.name}/, {queued} first backups queued for the worker."
        )

    def _assets(self, root: Path) -> int:
        created = 0
        for item in ESTATE:
            if Asset.objects.filter(name=item.name).exists():
                continue
            policy = None
            if item.policy == "tier":
                policy = policy_default_for_tier(tier=item.tier)
            elif item.policy:
                policy = RecoveryPolicy.objects.get(name=item.policy)
            source = root / item.name
            asset = asset_create(
                by=None,
                fields={
                    "name": item.name,
                    "title": item.title,
                    "kind": item.kind,
                    "owner_team": item.team,
                    "tier": item.tier,
                    "data_classes": item.data,
                    "region": item.region,
                    "environment": "production",
                    "source_uri": str(source),
                    "labels": item.labels,
                    "fallback": item.fallback,
                    "policy": policy,
                    "vault": Vault.objects.get(name=item.vault) if item.vault else None,
                },
            )
            if item.drill_clock_days:
                # The estate predates the portal: these policies were agreed months ago.
                start = timezone.now() - timedelta(days=item.drill_clock_days)
                Asset.objects.filter(pk=asset.pk).update(policy_assigned_at=start, created_at=start)
            created += 1
        return created

    def _first_backups(self) -> int:
        queued = 0
        for asset in Asset.objects.filter(policy__isnull=False, vault__isnull=False):
            has_point = RecoveryPoint.objects.good().filter(asset=asset).exists()
            if has_point or Backup.objects.filter(asset=asset).exists():
                continue
            try:
                backup_request(asset=asset, by=None)
            except BackupRefused as refused:
                self.stderr.write(str(refused))
                continue
            queued += 1
        return queued
