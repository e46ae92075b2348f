"""The loopback servers tests share for the whole session: one redis-server and two MLflow servers.

Loaded by the root conftest (``pytest_plugins``) so every test directory gets the same instances.
A module must not import these fixtures by name: an imported fixture is a copy of its own, and a
session-scoped copy starts servers of its own (about 14 s an MLflow server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inventory.connectors.servers import REDIS_PASSWORD, mlflow_server, redis_server


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with redis_server(tmp_path_factory.mktemp("redis"), password=REDIS_PASSWORD) as port:
        yield port


@pytest.fixture(scope="session")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source MLflow server's folder: its database, and its artifact store under ``artifacts``."""
    return tmp_path_factory.mktemp("mlflow-source")


@pytest.fixture(scope="session")
def target_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-target")


@pytest.fixture(scope="session")
def source_url(source_dir: Path) -> Iterator[str]:
    """An MLflow server holding the registry to protect."""
    with mlflow_server(source_dir) as url:
        yield url


@pytest.fixture(scope="session")
def target_url(target_dir: Path) -> Iterator[str]:
    """A fresh MLflow server standing in for the drill registry."""
    with mlflow_server(target_dir) as url:
        yield url
