"""The demo's feature stores on the shared PostgreSQL and Redis servers, as tests that load the demo leave them.

A test that runs ``inventory_demo`` with DATABASE_URL / a Redis broker set makes a features database and
Redis keys on those servers: it uses Redis databases of its own (so a `make run` on the same server keeps
its data) and removes both when it is done.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inventory import demo_servers

TEST_REDIS_DBS = (11, 12, 10, 9)


def drop_server_stores() -> None:
    pg, _ = demo_servers.postgres_config()
    if pg is not None:
        from psycopg import sql

        from inventory.connectors.postgres import PostgresConfig, connect

        admin = connect(PostgresConfig(**pg), "postgres", autocommit=True)
        try:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(pg["dbname"])))
        finally:
            admin.close()
    kv, _ = demo_servers.redis_config()
    if kv is not None:
        from inventory.connectors.redis_kv import RedisConfig

        RedisConfig(**kv).client().flushdb()


@pytest.fixture
def demo_server_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(demo_servers, "REDIS_DB_CHOICES", TEST_REDIS_DBS)
    yield
    drop_server_stores()
