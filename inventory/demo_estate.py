"""The demo estate as data: ~30 assets with their files, vaults, policies, dependencies, plans.

Some assets are deliberately at risk or in breach (no policy, a missing source, a vault
that is always full, an old drill clock) so every readiness state shows in the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        "fraud-model-registry",
        "Fraud model registry (MLflow)",
        "model",
        "risk-ml",
        0,
        "eu-west-1",
        {},  # a live MLflow registry (inventory/demo_mlflow.py), captured through its connector
        labels={"service": "fraud", "component": "registry"},
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
# A recovery plan per service, generated from the dependency order (name -> assets); demo_group.py has the group.
PLANS = {
    "Fraud service recovery": ["fraud-feature-store", "fraud-detection-model", "fraud-scoring-eu"],
    "Support assistant recovery": ["support-embeddings-index", "support-rag-pipeline", "support-chat-endpoint"],
    "Fraud model consistency group": ["fraud-model-group"],
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
