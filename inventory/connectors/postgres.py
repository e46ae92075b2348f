"""PostgreSQL: ``pg_dump -Fc`` of one exported snapshot, the verification facts read from that same snapshot."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inventory.connectors.base import (
    DISCOVER_LIMIT,
    DISCOVER_TIMEOUT,
    Capture,
    Connector,
    Discovery,
    Proposal,
    Snapshot,
    Verification,
    register,
    tables_text,
)
from inventory.connectors.config import HOST, PORT, SecretRef, field_help
from inventory.connectors.errors import (
    AuthFailed,
    CaptureIncomplete,
    ConfigInvalid,
    ConnectorRefused,
    RestoreFailed,
    TargetNotEmpty,
    Unreachable,
)
from inventory.connectors.reach import LOCAL, reach

DUMP_NAME = "database.pgdump"
# One transaction: a failed restore leaves the new database empty, never half-filled.
PG_RESTORE_FLAGS = ("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction")
SAMPLE_ALL_BELOW = 1000
EXACT_COUNT_BYTES = 64 << 20  # discovery counts the rows of tables up to this size, estimates beyond
_USER_TABLES = """
    SELECT schemaname, tablename FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2
"""


@dataclass(frozen=True)
class PostgresConfig:
    dbname: str = field_help("Database name.")
    host: str = field_help("Server host name or address.", default="127.0.0.1", limits=HOST)
    port: int = field_help("Server port.", default=5432, limits=PORT)
    user: str = field_help("Role to connect as.", default="postgres", limits={"max_length": 63})
    password: SecretRef | None = field(default=None, metadata={"help": "Reference to the role's password."})
    connect_timeout: int = field_help(
        "Seconds to wait for the server.", default=10, limits={"minimum": 1, "maximum": 600}
    )
    tables: tuple[str, ...] = field_help(
        "Tables to capture as schema.table (discovery lists them); empty for all.", default=()
    )

    def check(self) -> None:
        if not self.dbname or len(self.dbname) > 50:
            raise ConfigInvalid("dbname: give a database name of at most 50 characters.")
        bare = [t for t in self.tables if t.count(".") != 1 or not all(t.split("."))]
        if bare:
            raise ConfigInvalid(f"tables: name each table as schema.table (not {bare[0]!r}).")

    def address(self) -> str:
        """The checked address libpq connects to (a socket folder is this machine)."""
        return reach("PostgreSQL", LOCAL if self.host.startswith("/") else self.host, self.port)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGCONNECT_TIMEOUT": str(self.connect_timeout)}
        env.pop("PGPASSWORD", None)
        env.pop("PGHOSTADDR", None)
        address = self.address()
        if not self.host.startswith("/"):
            env["PGHOSTADDR"] = address  # pg_dump/pg_restore connect to the address checked, not a new answer
        if self.password:
            env["PGPASSWORD"] = self.password.resolve()  # the environment, never argv
        return env

    def args(self, dbname: str | None = None) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", dbname or self.dbname]

    def same_database(self, other: PostgresConfig) -> bool:
        return (self.host, self.port, self.dbname) == (other.host, other.port, other.dbname)


def connect(cfg: PostgresConfig, dbname: str | None = None, *, autocommit: bool = False) -> Any:
    import psycopg

    address = cfg.address()
    try:
        return psycopg.connect(
            host=cfg.host,
            hostaddr=None if cfg.host.startswith("/") else address,
            port=cfg.port,
            user=cfg.user,
            dbname=dbname or cfg.dbname,
            password=cfg.password.resolve() if cfg.password else None,
            connect_timeout=cfg.connect_timeout,
            autocommit=autocommit,
        )
    except psycopg.OperationalError as exc:
        text = str(exc)
        where = f"{cfg.host}:{cfg.port}/{dbname or cfg.dbname}"
        if "authentication failed" in text or ("role" in text and "does not exist" in text):
            raise AuthFailed(f"PostgreSQL at {where} refused the credentials of {cfg.user}.") from None
        if "database" in text and "does not exist" in text:
            raise Unreachable(f"The database {dbname or cfg.dbname} does not exist on {cfg.host}:{cfg.port}.") from None
        raise Unreachable(f"PostgreSQL at {where} cannot be reached: {text.strip().splitlines()[-1]}") from None


# How a table's rows are sampled, recorded per table (``sample``) so a target is checked the way
# its capture was taken: rows whose hash_record_extended(row, 0) is 0 modulo 16 (PostgreSQL 14 and
# later, every column type hashable; the row is never turned into text unless sampled), or rows
# whose md5(row::text) starts with "0" (any column type; captures without ``sample`` used it).
HASH_SAMPLE = "hrx16"
MD5_SAMPLE = "md5"
_SAMPLED = {  # the sampled rows' md5s (the table as ``{}``; ``%s``: every row, for a small table)
    HASH_SAMPLE: "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT md5(t::text) AS h"
    " FROM {} AS t WHERE %s OR hash_record_extended(t, 0) & 15 = 0) AS s",
    MD5_SAMPLE: "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT md5(t::text) AS h"
    " FROM {} AS t) AS s WHERE %s OR left(h, 1) = '0'",
}


def table_facts(
    conn: Any, only: tuple[str, ...] = (), methods: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per table: row count and the md5 of sampled rows' md5s (rows chosen by their own hash).

    ``methods`` names the sampling of each table a capture recorded; without it a new capture
    samples by ``HASH_SAMPLE`` where the server can hash every column, else by ``MD5_SAMPLE``.
    """
    import psycopg
    from psycopg import sql

    facts: dict[str, dict[str, Any]] = {}
    for schema, table in conn.execute(_USER_TABLES).fetchall():
        key = f"{schema}.{table}"
        if only and key not in only:
            continue
        name = sql.Identifier(schema, table)
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0]
        tried = [methods.get(key, MD5_SAMPLE)] if methods is not None else [HASH_SAMPLE, MD5_SAMPLE]
        for method in tried:
            query = sql.SQL(_SAMPLED[method]).format(name)
            try:
                with conn.transaction():  # a savepoint: a type without a hash function leaves the snapshot usable
                    sampled, checksum = conn.execute(query, (count <= SAMPLE_ALL_BELOW,)).fetchone()
                break
            except (psycopg.errors.UndefinedFunction, psycopg.errors.FeatureNotSupported) as exc:
                sampled, checksum = 0, f"unreadable: {str(exc).strip().splitlines()[0]}"
        facts[key] = {"rows": count, "sampled": sampled, "checksum": checksum, "sample": method}
    return facts


def _create_schemas(cfg: PostgresConfig, dbname: str, capture: Capture) -> None:
    """A dump of chosen tables (``pg_dump --table``) holds no CREATE SCHEMA: make their schemas first."""
    from psycopg import sql

    schemas = sorted({name.partition(".")[0] for name in capture.details.get("selected") or ()} - {"public"})
    if not schemas:
        return
    conn = connect(cfg, dbname, autocommit=True)
    try:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    finally:
        conn.close()


def _quoted(name: str) -> str:
    """schema.table as a pg_dump pattern matching exactly that table (quoted: no wildcards, case kept)."""
    schema, _, table = name.partition(".")
    return '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'


def _run(cmd: list[str], cfg: PostgresConfig, what: str) -> None:
    done = subprocess.run(cmd, env=cfg.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise RestoreFailed(f"{what} failed (exit {done.returncode}): {tail}")


@register
class PostgresConnector(Connector[PostgresConfig]):
    kind = "postgres"
    label = "PostgreSQL database"
    config_class = PostgresConfig
    system_fields = ("host", "port", "dbname")
    scope_field = "tables"

    def snapshot(self, staging: Path) -> Snapshot:
        cfg = self.config
        conn = connect(cfg)
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # The snapshot is taken by this first statement; pg_dump and the facts below share it.
            snapshot_id, as_of = conn.execute("SELECT pg_export_snapshot(), clock_timestamp()").fetchone()
            present = {f"{s}.{t}" for s, t in conn.execute(_USER_TABLES).fetchall()}
            missing = sorted(set(cfg.tables) - present)
            if missing:
                raise CaptureIncomplete(f"The database {cfg.dbname} has no table {', '.join(missing)}.")
            _run(
                [
                    "pg_dump",
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_id}",
                    *[f"--table={_quoted(name)}" for name in cfg.tables],
                    "-f",
                    str(staging / DUMP_NAME),
                    *cfg.args(),
                ],
                cfg,
                f"pg_dump of {cfg.dbname}",
            )
            facts = table_facts(conn, cfg.tables)
            conn.rollback()
        finally:
            conn.close()
        details = {"database": cfg.dbname, "host": cfg.host, "tables": facts, "selected": list(cfg.tables)}
        capture = Capture(self.kind, as_of, details)
        return Snapshot(source=self.staged(staging), capture=capture)

    def _holds_tables(self, cfg: PostgresConfig) -> bool | None:
        """None when the database does not exist; else whether it has user tables."""
        admin = connect(cfg, "postgres", autocommit=True)
        try:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg.dbname,)).fetchone()
        finally:
            admin.close()
        if not exists:
            return None
        conn = connect(cfg)
        try:
            return bool(conn.execute(_USER_TABLES).fetchall())
        finally:
            conn.close()

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: PostgresConfig = self.parse(target)
        if cfg.same_database(self.config) or self._holds_tables(cfg):
            self.ledger.found_before("database", cfg.dbname, "it held tables before this run")
            raise TargetNotEmpty(f"The database {cfg.dbname} already holds tables; restore there only with replace.")

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        from psycopg import sql

        self.check_capture(capture)
        cfg: PostgresConfig = self.parse(target)
        if cfg.same_database(self.config) and not replace:
            raise ConnectorRefused("The target is the source database itself; restore over it only with replace.")
        holds = self._holds_tables(cfg)
        if holds and not replace:
            self.refuse_full_target(cfg, capture)
        dump = restored / DUMP_NAME
        if not dump.is_file():
            raise RestoreFailed(f"The restored point has no {DUMP_NAME}.")
        new = f"{cfg.dbname}__drp_new"
        admin = connect(cfg, "postgres", autocommit=True)
        try:
            self.ledger.created("database", [new])
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(new)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(new)))
            try:
                self.say(f"loading the dump into {new}")
                _create_schemas(cfg, new, capture)
                _run(
                    [
                        "pg_restore",
                        *PG_RESTORE_FLAGS,
                        *cfg.args(new),
                        str(dump),
                    ],
                    cfg,
                    f"pg_restore into {new}",
                )
                self.say("checking the restored copy before it goes in")
                report = self._check(capture, cfg, new)
                if not report.ok:
                    raise RestoreFailed(f"The restored database does not match the capture: {report.summary()}")
            except Exception:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(new)))
                self.ledger.removed("database", new)
                raise
            # Only now, with the new copy verified, does the old content step aside.
            self.say("swapping in the restored copy" if holds is not None else "putting the restored copy in place")
            old = f"{cfg.dbname}__drp_old"
            if holds is not None:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(old)))
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(cfg.dbname), sql.Identifier(old))
                )
            if not replace:  # the restored copy takes the target's name; it is this run's to drop
                self.ledger.created("database", [cfg.dbname])
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(new), sql.Identifier(cfg.dbname))
            )
            self.ledger.forget("database", new)
            if holds is not None:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(old)))
        finally:
            admin.close()

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: PostgresConfig = self.parse(target)
        return self._check(capture, cfg, cfg.dbname)

    def _check(self, capture: Capture, cfg: PostgresConfig, dbname: str) -> Verification:
        report = Verification(self.kind)
        expected = capture.details.get("tables", {})
        conn = connect(cfg, dbname)
        try:
            found = table_facts(
                conn, methods={name: facts.get("sample", MD5_SAMPLE) for name, facts in expected.items()}
            )
        finally:
            conn.close()
        report.add_tables(expected, found)
        return report

    def cleanup(self, *, target: object) -> None:
        from psycopg import sql

        cfg: PostgresConfig = self.parse(target)
        if cfg.same_database(self.config):
            raise ConnectorRefused("Clean-up removes a drill target; it will not drop the source database.")
        made = self.ledger.names("database")
        if not made:
            return
        admin = connect(cfg, "postgres", autocommit=True)
        try:
            for name in made:  # the databases this restore created, never one that was there before
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                self.ledger.removed("database", name)
        finally:
            admin.close()

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any]:
        # A scratch database on the same server; clean-up drops it.
        return {**self.config_json(), "dbname": f"{self.config.dbname[:30]}_drill_{tag}"}

    def target_label(self, config: Any) -> str:
        cfg: PostgresConfig = self.parse(config)
        return f"PostgreSQL {cfg.host}:{cfg.port}/{cfg.dbname}"

    def discover(self, *, limit: int = DISCOVER_LIMIT) -> Discovery:
        """One proposal per user table (the first ``limit`` by schema and name), with its rows.

        Rows are counted for tables up to ``EXACT_COUNT_BYTES``; a bigger table shows the
        planner's estimate ("about N"), so a look never reads a large table through.
        """
        from psycopg import sql

        bounded = replace(self.config, connect_timeout=min(self.config.connect_timeout, int(DISCOVER_TIMEOUT)))
        conn = connect(bounded)  # a look waits DISCOVER_TIMEOUT at most to connect, and for each statement
        try:
            conn.execute(f"SET statement_timeout = {int(DISCOVER_TIMEOUT * 1000)}")
            names = conn.execute(_USER_TABLES).fetchall()
            found = []
            for schema, table in names[:limit]:
                ident = sql.Identifier(schema, table)
                estimate, size = conn.execute(
                    "SELECT reltuples::bigint, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = %s::regclass",
                    (ident.as_string(conn),),
                ).fetchone()
                if size <= EXACT_COUNT_BYTES:
                    rows = str(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0])
                else:
                    rows = f"about {estimate}" if estimate >= 0 else "not counted (large, not yet analysed)"
                name = f"{schema}.{table}"
                found.append(
                    Proposal(
                        name=f"{self.config.dbname}-{name.removeprefix('public.')}".lower()
                        .replace("_", "-")
                        .replace(".", "-")[:100],
                        kind=self.kind,
                        config={**self.config_json(), "tables": [name]},
                        labels={"table": name, "schema": schema, "rows": rows},
                    )
                )
        finally:
            conn.close()
        return Discovery.first(found, limit=limit, total=len(names), things="tables")

    def describe(self, capture: Capture) -> str:
        tables = capture.details.get("tables", {})
        rows = sum(t["rows"] for t in tables.values())
        head = (
            f"{len(tables)} table{'s' if len(tables) != 1 else ''}, {rows:,} rows of {capture.details.get('database')}"
        )
        return f"{head}: {tables_text(tables)}" if tables else head
