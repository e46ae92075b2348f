"""The fraud model's feature stores on real servers, when the portal itself runs on them.

With ``DATABASE_URL`` on PostgreSQL the demo keeps the offline features in a database of their
own on that server (``<portal database>_features``, never the portal's); with ``REDIS_URL`` (or
a Redis broker) it keeps the online features in a logical database the portal does not use.
On the embedded defaults neither exists and :func:`server_systems` says why, for the demo's
output. Idempotent: data is written only where none is.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection

PG_ASSET = "fraud-features-pg"
REDIS_ASSET = "fraud-online-features"
REDIS_PREFIX = "fraud:"
# Logical databases tried for the online features and for their drill target, in order; the
# ones the portal uses (REDIS_URL, the broker) are skipped.
REDIS_DB_CHOICES = (13, 14, 12, 11, 10, 9)


def postgres_config() -> tuple[dict[str, Any] | None, str]:
    """(connector config, "") for the features database on the portal's PostgreSQL, or (None, why not)."""
    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        return None, "the portal runs on SQLite (DATABASE_URL=postgres://… adds it)."
    config: dict[str, Any] = {
        "dbname": f"{str(db['NAME'])[:40]}_features",
        "host": db.get("HOST") or "127.0.0.1",
        "port": int(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
    }
    if db.get("PASSWORD"):
        if not os.environ.get("PGPASSWORD"):
            return None, "the database role has a password: set PGPASSWORD too, which the connector reads."
        config["password"] = "env:PGPASSWORD"  # noqa: S105 - a reference to the variable, not a secret
    return config, ""


def _redis_db(url: str) -> int | None:
    parts = urlsplit(url)
    if parts.scheme != "redis":
        return None
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else 0


def redis_config() -> tuple[dict[str, Any] | None, str]:
    """(connector config, "") for the online features on the portal's Redis, or (None, why not)."""
    urls = [u for u in (os.environ.get("REDIS_URL", ""), settings.CELERY_BROKER_URL) if u.startswith("redis://")]
    if not urls:
        return None, "no Redis server is configured (REDIS_URL=redis://… or a Redis broker adds it)."
    parts = urlsplit(urls[0])
    if parts.password and not os.environ.get("REDIS_PASSWORD"):
        return None, "Redis needs a password: set REDIS_PASSWORD too, which the connector reads."
    used = {_redis_db(u) for u in urls}
    free = [n for n in REDIS_DB_CHOICES if n not in used]
    config: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": free[0],
        "prefix": REDIS_PREFIX,
        "drill_db": free[1],
    }
    if parts.username:
        config["username"] = unquote(parts.username)
    if parts.password:
        config["password"] = "env:REDIS_PASSWORD"  # noqa: S105 - a reference to the variable, not a secret
    return config, ""


def fill_postgres(config: dict[str, Any]) -> None:
    """Create the features database and its tables unless they are there (generated on the server)."""
    from psycopg import sql

    from inventory.connectors.config import parse_config
    from inventory.connectors.postgres import PostgresConfig, connect

    cfg: PostgresConfig = parse_config(PostgresConfig, config, kind="postgres")
    admin = connect(cfg, "postgres", autocommit=True)
    try:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg.dbname,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg.dbname)))
    finally:
        admin.close()
    conn = connect(cfg)
    try:
        with conn.transaction():
            if conn.execute("SELECT to_regclass('public.card_features')").fetchone()[0] is not None:
                return
            conn.execute(
                "CREATE TABLE card_features (card_id text PRIMARY KEY, txn_count_1h int, amount_avg_7d numeric(10,2), "
                "distinct_merchants_24h int, country_risk numeric(4,3))"
            )
            conn.execute(
                "INSERT INTO card_features SELECT 'card-' || lpad(i::text, 6, '0'), i % 13, "
                "round((5 + (i * 7919 % 39500) / 100.0)::numeric, 2), 1 + i % 9, "
                "round(((i * 31 % 1000) / 1000.0)::numeric, 3) FROM generate_series(0, 19999) AS i"
            )
            conn.execute(
                "CREATE TABLE merchant_risk (merchant_id text PRIMARY KEY, chargeback_rate numeric(6,4), mcc text)"
            )
            conn.execute(
                "INSERT INTO merchant_risk SELECT 'm-' || lpad(i::text, 4, '0'), "
                "round(((i * 17 % 500) / 10000.0)::numeric, 4), (5000 + i % 900)::text "
                "FROM generate_series(0, 399) AS i"
            )
    finally:
        conn.close()


def fill_redis(config: dict[str, Any]) -> None:
    """Write the online features (a hash per card, a week-long block flag on some) unless they are there."""
    from inventory.connectors.config import parse_config
    from inventory.connectors.redis_kv import RedisConfig

    cfg: RedisConfig = parse_config(RedisConfig, config, kind="redis")
    r = cfg.client()
    if next(r.scan_iter(match=f"{REDIS_PREFIX}*", count=100), None) is not None:
        return
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.hset(f"{REDIS_PREFIX}card:{i:06d}", mapping={"txn_count_1h": i % 13, "declines_24h": i % 4})
        if i % 50 == 0:
            pipe.set(f"{REDIS_PREFIX}block:{i:06d}", "manual-review", ex=7 * 24 * 3600)
    pipe.execute()


def server_systems() -> tuple[dict[str, tuple[str, dict[str, Any]]], list[str]]:
    """``{asset name: (kind, config)}`` for the server-backed feature stores there are, and a line per absent one."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    notes: list[str] = []
    from inventory.connectors import ConnectorError

    for name, what, kind, (config, why), fill in (
        (PG_ASSET, "PostgreSQL features", "postgres", postgres_config(), fill_postgres),
        (REDIS_ASSET, "Redis online features", "redis", redis_config(), fill_redis),
    ):
        if config is not None:
            try:
                fill(config)
            except ConnectorError as exc:
                config, why = None, str(exc)
            else:
                found[name] = (kind, config)
        if config is None:
            notes.append(f"{name} ({what}) is not in the demo: {why}")
    return found, notes
