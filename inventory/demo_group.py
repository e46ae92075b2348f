"""The fraud model as one consistency group: its registry entry, its feature store and its vector index.

The group's members are assets captured by their own connectors: the MLflow registry
(``demo_mlflow``), the features (SQLite on the embedded defaults; PostgreSQL and Redis when
the portal runs on those servers, ``demo_servers``) and the similar-cases index (LanceDB,
bound to its embedding model). One backup of the group captures every member into one point;
the "Fraud model consistency group" plan restores them as a set. The registry's server starts
with the ``mlflow`` process, so the group's first backup is queued there, after the registry's.
"""

from __future__ import annotations

from inventory.demo_estate import ESTATE, DemoAsset
from inventory.demo_servers import PG_ASSET, REDIS_ASSET

GROUP = "fraud-model-group"
REGISTRY = "fraud-model-registry"
SQLITE_FEATURES = "fraud-features-db"
INDEX = "fraud-case-index"

GROUP_ESTATE: list[DemoAsset] = [
    DemoAsset(
        SQLITE_FEATURES,
        "Fraud model features (SQLite)",
        "feature_store",
        "risk-ml",
        0,
        "eu-west-1",
        {},  # a live SQLite database (demo_connectors.py), captured through its connector
        ["personal"],
        labels={"service": "fraud", "component": "features"},
    ),
    DemoAsset(
        INDEX,
        "Similar fraud cases index (LanceDB)",
        "vector_index",
        "risk-ml",
        0,
        "eu-west-1",
        {},  # a live LanceDB index bound to its embedding model
        labels={"service": "fraud", "component": "index"},
    ),
    DemoAsset(
        GROUP,
        "Fraud model: registry entry, features and index (consistency group)",
        "model",
        "risk-ml",
        0,
        "eu-west-1",
        {},  # captured through its members' connectors
        ["personal"],
        labels={"service": "fraud", "component": "consistency-group"},
    ),
]

# Created only when the portal runs on PostgreSQL / Redis.
SERVER_ESTATE: list[DemoAsset] = [
    DemoAsset(
        PG_ASSET,
        "Fraud model features (PostgreSQL)",
        "feature_store",
        "risk-ml",
        0,
        "eu-west-1",
        {},
        ["personal"],
        labels={"service": "fraud", "component": "features"},
    ),
    DemoAsset(
        REDIS_ASSET,
        "Online card features (Redis)",
        "feature_store",
        "risk-ml",
        0,
        "eu-west-1",
        {},
        ["personal"],
        labels={"service": "fraud", "component": "online-features"},
    ),
]

ALL_ESTATE = ESTATE + GROUP_ESTATE + SERVER_ESTATE


def members(present: set[str]) -> list[str]:
    """The group's member assets in restore order: the registry, the feature store(s), the index.

    The features are the server-backed stores when the demo has them, else the SQLite database.
    """
    servers = [name for name in (PG_ASSET, REDIS_ASSET) if name in present]
    return [REGISTRY, *(servers or [SQLITE_FEATURES]), INDEX]
