"""Redis keys under a prefix (or a whole logical database) with their TTLs, via DUMP/RESTORE.

Redis has no read snapshot a client can hold, so the capture reads every key twice:
if any key under the prefix appeared, vanished or changed between the passes, it
tries again, and after three tries fails with the keys that kept moving.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.connectors.base import (
    DISCOVER_LIMIT,
    DISCOVER_TIMEOUT,
    Capture,
    Connector,
    Discovery,
    Snapshot,
    Verification,
    register,
    utcnow,
)
from inventory.connectors.config import HOST, PORT, SecretRef, field_help
from inventory.connectors.errors import (
    AuthFailed,
    ConnectorRefused,
    RestoreFailed,
    SourceChanged,
    TargetNotEmpty,
    Unreachable,
)
from inventory.connectors.reach import reach

FILE_NAME = "keys.jsonl"
# Logical databases a stock server has (its `databases` setting, 16 by default); a server
# configured with fewer refuses a higher one when the connector selects it, and that is said.
DB = {"minimum": 0, "maximum": 15}
STAGE = "__drp_new__:"
SAMPLE_ALL_BELOW = 200
ATTEMPTS = 3
BATCH = 500


@dataclass(frozen=True)
class RedisConfig:
    host: str = field_help("Server host name or address.", default="127.0.0.1", limits=HOST)
    port: int = field_help("Server port.", default=6379, limits=PORT)
    db: int = field_help("Logical database number.", default=0, limits=DB)
    prefix: str = field_help("Key prefix to capture; empty for the whole logical database.", default="")
    username: str = field_help("ACL user name, if any.", default="")
    password: SecretRef | None = field(default=None, metadata={"help": "Reference to the password."})
    drill_db: int | None = field_help(
        "Logical database a drill restores into (kept empty for drills).", default=None, limits=DB
    )

    def client(self, *, timeout: float = 30, retries: bool = True) -> Any:
        """A connected client; with ``retries`` redis-py's own (each waiting ``timeout``); a look takes none."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options: dict[str, Any] = {} if retries else {"retry": Retry(NoBackoff(), 0)}
        r = redis.Redis(
            host=reach("Redis", self.host, self.port),  # the address checked, not a second answer
            port=self.port,
            db=self.db,
            username=self.username or None,
            password=self.password.resolve() if self.password else None,
            socket_connect_timeout=min(5, timeout),
            socket_timeout=timeout,
            **options,
        )
        try:
            r.ping()
        except redis.AuthenticationError:
            raise AuthFailed(f"Redis at {self.host}:{self.port} refused the credentials.") from None
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise AuthFailed(f"Redis at {self.host}:{self.port} needs valid credentials.") from None
            raise Unreachable(f"Redis at {self.host}:{self.port} answered: {exc}.") from None
        except redis.ConnectionError as exc:
            raise Unreachable(f"Redis at {self.host}:{self.port} cannot be reached: {exc}.") from None
        except redis.RedisError as exc:
            raise Unreachable(redis_fault(self.host, self.port, exc, timeout)) from None
        return r

    def where(self) -> tuple[str, int, int, str]:
        return (self.host, self.port, self.db, self.prefix)


def redis_fault(host: str, port: int, exc: Exception, timeout: float) -> str:
    """What a Redis error other than a refused connection or credentials means, for people."""
    import redis

    if isinstance(exc, redis.TimeoutError):
        return f"Redis at {host}:{port} did not answer within {timeout:g} s."
    if isinstance(exc, redis.ConnectionError):
        return f"Redis at {host}:{port} closed the connection: {exc}."
    return f"Redis at {host}:{port} did not answer as a Redis server does ({type(exc).__name__})."


def _keys_pattern(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?").replace("[", "\\[") + "*"


def _keys(r: Any, prefix: str) -> list[bytes]:
    return sorted(k for k in r.scan_iter(match=_keys_pattern(prefix), count=1000) if not k.startswith(STAGE.encode()))


def _batch_name(keys: list[bytes]) -> str:
    first = keys[0].decode("utf-8", "backslashreplace")
    return f"{first} and {len(keys) - 1} more" if len(keys) > 1 else first


def _batches(items: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _dump_all(r: Any, keys: list[bytes]) -> dict[bytes, tuple[bytes | None, int]]:
    out: dict[bytes, tuple[bytes | None, int]] = {}
    for batch in _batches(keys):
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.dump(key)
            pipe.pttl(key)
        replies = pipe.execute()
        for i, key in enumerate(batch):
            out[key] = (replies[2 * i], int(replies[2 * i + 1]))
    return out


def value_digest(r: Any, key: bytes) -> str:
    """A hash of the key's logical value, independent of Redis's internal encoding."""
    kind = r.type(key).decode()
    value: Any
    if kind == "string":
        value = r.get(key)
    elif kind == "hash":
        value = sorted(r.hgetall(key).items())
    elif kind == "list":
        value = r.lrange(key, 0, -1)
    elif kind == "set":
        value = sorted(r.smembers(key))
    elif kind == "zset":
        value = r.zrange(key, 0, -1, withscores=True)
    else:
        value = r.dump(key)
    return hashlib.sha256(f"{kind}:{value!r}".encode()).hexdigest()


def _sampled(key: bytes, total: int) -> bool:
    return total <= SAMPLE_ALL_BELOW or hashlib.sha256(key).hexdigest()[0] == "0"


@register
class RedisConnector(Connector[RedisConfig]):
    kind = "redis"
    label = "Redis keys (feature store)"
    config_class = RedisConfig
    system_fields = ("host", "port", "db")
    scope_field = "prefix"

    def snapshot(self, staging: Path) -> Snapshot:
        r = self.config.client()
        moving: list[bytes] = []
        for _attempt in range(ATTEMPTS):
            started = utcnow()
            first = _dump_all(r, _keys(r, self.config.prefix))
            second = _dump_all(r, _keys(r, self.config.prefix))
            moving = sorted(
                k for k in set(first) | set(second) if first.get(k, (None,))[0] != second.get(k, (None,))[0]
            )
            if not moving:
                break
        else:
            shown = ", ".join(k.decode(errors="replace") for k in moving[:5])
            raise SourceChanged(
                f"{len(moving)} keys under {self.config.prefix or 'the database'} kept changing during "
                f"{ATTEMPTS} capture attempts (e.g. {shown}); pause the writers or capture a quieter prefix."
            )
        total = len(first)
        with (staging / FILE_NAME).open("w") as out:
            for key, (payload, pttl) in first.items():
                if payload is None:  # expired between SCAN and DUMP in both passes
                    continue
                line = {"k": base64.b64encode(key).decode(), "v": base64.b64encode(payload).decode(), "ttl": pttl}
                out.write(json.dumps(line) + "\n")
        samples = {key.decode(errors="backslashreplace"): value_digest(r, key) for key in first if _sampled(key, total)}
        with_ttl = sum(1 for _, pttl in first.values() if pttl > 0)
        details = {
            "prefix": self.config.prefix,
            "db": self.config.db,
            "keys": total,
            "with_ttl": with_ttl,
            "samples": samples,
        }
        return Snapshot(source=self.staged(staging), capture=Capture(self.kind, started, details))

    def refuse_full_target(self, target: object, capture: Capture) -> None:
        cfg: RedisConfig = self.parse(target)
        r = cfg.client()
        pattern = _keys_pattern(cfg.prefix)
        # Stops at the first key of the target's; counting them all is left to a refusal.
        if any(not k.startswith(STAGE.encode()) for k in r.scan_iter(match=pattern, count=1000)):
            self._refuse(cfg, _keys(r, cfg.prefix))

    def _refuse(self, cfg: RedisConfig, existing: list[bytes]) -> None:
        where = f"under {cfg.prefix}" if cfg.prefix else "in the db"
        count = f"{len(existing)} key{'' if len(existing) == 1 else 's'}"
        self.ledger.found_before("keys", f"{where} ({count})", "they were in the target db before this run")
        raise TargetNotEmpty(f"The target db {cfg.db} already holds {count} {where}; restore there only with replace.")

    def restore(self, *, restored: Path, capture: Capture, target: object, replace: bool = False) -> None:
        self.check_capture(capture)
        cfg: RedisConfig = self.parse(target)
        if cfg.where() == self.config.where() and not replace:
            raise ConnectorRefused("The target is the source itself; restore over it only with replace.")
        r = cfg.client()
        existing = _keys(r, cfg.prefix)
        if existing and not replace:
            self._refuse(cfg, existing)
        path = restored / FILE_NAME
        if not path.is_file():
            raise RestoreFailed(f"The restored point has no {FILE_NAME}.")
        # Each key lands under a staging name first; the live names change only once all are in.
        staged: list[tuple[bytes, bytes]] = []
        cut = len(str(capture.details.get("prefix", "")).encode())
        pipe = r.pipeline(transaction=False)
        batch: list[bytes] = []

        expected = int(capture.details.get("keys") or 0)

        def send() -> None:
            # Recorded before they are written: clean-up deletes these keys (and their staging names) only.
            if batch and not replace:
                self.ledger.created("keys", [_batch_name(batch)], b64=[base64.b64encode(k).decode() for k in batch])
            pipe.execute()
            batch.clear()
            self.say("writing keys under staging names", f"{len(staged):,} of {expected:,} keys")

        with path.open() as lines:
            for line in lines:
                row = json.loads(line)
                key = cfg.prefix.encode() + base64.b64decode(row["k"])[cut:]
                temp = STAGE.encode() + key
                pipe.restore(temp, max(int(row["ttl"]), 0), base64.b64decode(row["v"]), replace=True)
                staged.append((temp, key))
                batch.append(key)
                if len(pipe) >= BATCH:
                    send()
        send()
        if len(staged) != capture.details.get("keys"):
            for batch in _batches([temp for temp, _ in staged]):
                r.delete(*batch)
            raise RestoreFailed(
                f"The point holds {len(staged)} keys but the capture recorded {capture.details.get('keys')}."
            )
        self.say("checking sampled values under the staging names")
        src_prefix = str(capture.details.get("prefix", ""))
        bad = [
            name
            for name, digest in capture.details.get("samples", {}).items()
            if value_digest(r, STAGE.encode() + (cfg.prefix + name[len(src_prefix) :]).encode()) != digest
        ]
        if bad:  # the live keys are untouched: only the staging names go
            for batch in _batches([temp for temp, _ in staged]):
                r.delete(*batch)
            raise RestoreFailed(f"{len(bad)} restored values differ from the capture (e.g. {', '.join(bad[:3])}).")
        self.say("swapping in the restored keys" if existing else "renaming the restored keys into place")
        pipe = r.pipeline(transaction=True)
        for temp, key in staged:
            pipe.rename(temp, key)
        stale = set(existing) - {key for _, key in staged}
        if stale:
            pipe.delete(*stale)
        pipe.execute()

    def verify(self, *, capture: Capture, target: object) -> Verification:
        cfg: RedisConfig = self.parse(target)
        r = cfg.client()
        keys = _keys(r, cfg.prefix)
        report = Verification(self.kind)
        report.add("key count", capture.details.get("keys"), len(keys))
        src_prefix = capture.details.get("prefix", "")
        bad = []
        for name, digest in capture.details.get("samples", {}).items():
            key = (cfg.prefix + name[len(src_prefix) :]).encode()
            if value_digest(r, key) != digest:
                bad.append(name)
        report.add("sampled values differing", [], bad[:20])
        with_ttl = sum(1 for reply in _ttls(r, keys) if reply > 0)
        report.add("keys with a TTL", capture.details.get("with_ttl"), with_ttl)
        report.notes.append(f"{len(capture.details.get('samples', {}))} sampled values compared.")
        return report

    def cleanup(self, *, target: object) -> None:
        """Delete the keys this restore wrote (and their staging names); no other key of the db."""
        cfg: RedisConfig = self.parse(target)
        if cfg.where() == self.config.where():
            raise ConnectorRefused("Clean-up removes a drill target; it will not delete the source keys.")
        written = self.ledger.names("keys")
        if not written:
            return
        r = cfg.client()
        for name in written:
            entry = self.ledger.get("keys", name) or {}
            keys = [base64.b64decode(k) for k in entry.get("b64", [])]
            for part in _batches(keys + [STAGE.encode() + k for k in keys]):
                r.delete(*part)
            self.ledger.removed("keys", name)

    def drill_target(self, *, root: Path, tag: str) -> dict[str, Any] | None:
        if self.config.drill_db is None or self.config.drill_db == self.config.db:
            return None
        return {**self.config_json(), "db": self.config.drill_db}

    def target_label(self, config: Any) -> str:
        cfg: RedisConfig = self.parse(config)
        return f"Redis {cfg.host}:{cfg.port} db {cfg.db}" + (f" prefix {cfg.prefix}" if cfg.prefix else "")

    def discover(self, *, limit: int = DISCOVER_LIMIT, scan_limit: int | None = None) -> Discovery:
        """One proposal per key prefix of the db (and one for the whole db), from a bounded SCAN."""
        import redis

        from inventory.connectors.redis_discover import discover_keys

        cfg = self.config
        try:
            return discover_keys(cfg, self.config_json(), limit=limit, scan_limit=scan_limit)
        except redis.RedisError as exc:  # it answered the ping, then stopped answering or spoke nonsense
            raise Unreachable(redis_fault(cfg.host, cfg.port, exc, DISCOVER_TIMEOUT)) from None

    def describe(self, capture: Capture) -> str:
        prefix = capture.details.get("prefix")
        where = f"under {prefix}" if prefix else "(the whole db)"
        ttl = capture.details.get("with_ttl")
        keys = int(capture.details.get("keys") or 0)
        text = f"{keys:,} key{'s' if keys != 1 else ''} {where} of db {capture.details.get('db')}"
        return text + (f", {ttl:,} with a TTL" if ttl else "")


def _ttls(r: Any, keys: list[bytes]) -> list[int]:
    out: list[int] = []
    for batch in _batches(keys):
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.pttl(key)
        out.extend(int(x) for x in pipe.execute())
    return out
