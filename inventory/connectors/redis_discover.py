"""What a Redis server's logical databases hold, as proposals: per database, one per key prefix
and one for the whole database, each naming its db.

The look reads the database named in the form first, then every other non-empty database
``INFO keyspace`` lists (a user the server's ACL refuses INFO sees the named one only). Keys
are listed with SCAN (never KEYS), ``COUNT`` keys a step, and a look SCANs at most
``scan_limit`` keys in all, the named database first and then the others smallest first, so
that as many as possible are read whole; a large server costs a bounded number of round
trips. A database the bound cut short says how many of its keys were seen and that the counts
are of those; one the bound left unread still gets its whole-database proposal, with the key
counts ``INFO`` gives. A key is grouped by its first segment after the configured prefix
(``fraud:card:17`` → ``fraud:``); keys with no ``:`` there belong to no prefix group and only
the whole-database proposal covers them. Per group: keys, keys with a TTL, types. The
database the form names as its drill database is not proposed (drills restore into it), nor
the portal's own task queue on the same server, nor one above the highest a configuration can
name. At most ``limit`` proposals in all: every
database's whole first, then key prefixes.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from inventory.connectors.base import DISCOVER_TIMEOUT, Discovery, Proposal
from inventory.connectors.errors import ConnectorError, Unreachable

if TYPE_CHECKING:
    from inventory.connectors.redis_kv import RedisConfig

SCAN_LIMIT = 10_000
COUNT = 1000
SEPARATOR = b":"
STAGE = b"__drp_new__:"  # a restore's keys in flight (redis_kv.STAGE)
BATCH = 500


def match_pattern(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?").replace("[", "\\[") + "*"


def scan_keys(r: Any, prefix: str, scan_limit: int) -> tuple[list[bytes], int]:
    """At most ``scan_limit`` keys under ``prefix``, and about how many keys SCAN looked at (0: all of them)."""
    keys: list[bytes] = []
    cursor, steps = 0, 0
    count = min(COUNT, scan_limit)
    while True:
        cursor, batch = r.scan(cursor=cursor, match=match_pattern(prefix), count=count)
        steps += 1
        keys.extend(k for k in batch if not k.startswith(STAGE))
        if int(cursor) == 0:
            return keys, 0
        if len(keys) >= scan_limit or steps * count >= scan_limit:
            return keys[:scan_limit], max(steps * count, len(keys))


def _per_key(r: Any, keys: list[bytes]) -> list[tuple[int, str]]:
    """``(pttl, type)`` of each key, pipelined."""
    out: list[tuple[int, str]] = []
    for start in range(0, len(keys), BATCH):
        pipe = r.pipeline(transaction=False)
        for key in keys[start : start + BATCH]:
            pipe.pttl(key)
            pipe.type(key)
        replies = pipe.execute()
        out.extend((int(replies[i]), _text(replies[i + 1])) for i in range(0, len(replies), 2))
    return out


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="backslashreplace") if isinstance(value, bytes) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")


def _facts(keys: list[tuple[int, str]], *, complete: bool) -> dict[str, str]:
    types = Counter(kind for _, kind in keys if kind != "none")  # "none": expired since the scan
    count = sum(types.values())
    return {
        "keys": str(count) if complete else f"at least {count}",
        "with_ttl": str(sum(1 for pttl, kind in keys if pttl > 0 and kind != "none")),
        "types": ", ".join(f"{kind} {n}" for kind, n in sorted(types.items())),
    }


def keyspace(r: Any) -> dict[int, tuple[int, int]] | None:
    """``{db: (keys, keys with a TTL)}`` of each non-empty logical database; None when INFO is refused."""
    import redis

    try:
        info = r.info("keyspace")
    except redis.ResponseError:
        return None
    out: dict[int, tuple[int, int]] = {}
    for name, stats in info.items():
        number = re.fullmatch(r"db([0-9]+)", str(name))
        if number and isinstance(stats, dict):
            out[int(number.group(1))] = (int(stats.get("keys", 0)), int(stats.get("expires", 0)))
    return out


@dataclass
class _Read:
    """What the look found in one logical database."""

    db: int
    whole: Proposal | None = None
    prefixes: list[Proposal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scanned: int = 0  # keys SCAN returned (what the look's bound counts)


def _read_db(
    r: Any, cfg: RedisConfig, base: dict[str, Any], *, total: int, expires: int, budget: int, bound: int
) -> _Read:
    """Propose for db ``cfg.db`` (``total`` keys, ``expires`` with a TTL), SCANning ``budget`` keys at
    most (``bound`` is the whole look's, for the page)."""
    read = _Read(cfg.db)
    where = f"redis-db{cfg.db}"
    base = {**base, "db": cfg.db}
    if budget <= 0:  # the look's bound is spent: the whole db from INFO's counts, no prefixes
        if not cfg.prefix:
            labels = {"db": str(cfg.db), "keys": str(total), "with_ttl": str(expires)}
            read.whole = Proposal(where, "redis", {**base, "prefix": ""}, labels=labels,
                                  title=f"Redis db {cfg.db}, every key")  # fmt: skip
        return read
    keys, examined = scan_keys(r, cfg.prefix, budget)
    read.scanned = max(examined, len(keys))
    complete = not examined
    facts = dict(zip(keys, _per_key(r, keys), strict=True))
    start = len(cfg.prefix.encode())
    groups: dict[bytes, list[bytes]] = {}
    loose = 0
    for key in keys:
        cut = key.find(SEPARATOR, start)
        if cut < 0:
            loose += 1
        else:
            groups.setdefault(key[: cut + 1], []).append(key)
    for group in sorted(groups):
        try:
            prefix = group.decode("utf-8")
        except UnicodeDecodeError:
            prefix, problem = _text(group), "The prefix is not UTF-8 text, which a configuration cannot name."
        else:
            problem = ""
        read.prefixes.append(
            Proposal(
                name=_slug(f"{where}-{prefix}")[:100] or where,
                kind="redis",
                config={**base, "prefix": prefix},
                labels={
                    "db": str(cfg.db),
                    "prefix": prefix,
                    **_facts([facts[k] for k in groups[group]], complete=complete),
                },
                title=f"Keys {prefix}* in Redis db {cfg.db}",
                problem=problem,
            )
        )
    if not cfg.prefix:
        whole = _facts(list(facts.values()), complete=True)
        whole["keys"] = str(total)
        read.whole = Proposal(
            name=where,
            kind="redis",
            config={**base, "prefix": ""},
            labels={"db": str(cfg.db), **whole} if complete else {"db": str(cfg.db), "keys": str(total)},
            title=f"Redis db {cfg.db}, every key",
        )
    if not complete:
        under = f" ({len(keys):,} of them under {cfg.prefix})" if cfg.prefix else ""
        read.notes.append(
            f"Showing what the first {min(examined, total):,} of the {total:,} keys in db {cfg.db} hold{under}: "
            f"a look SCANs at most {bound:,} keys in all, so the counts are of those keys only and prefixes "
            "that appear only further on are not listed."
        )
    if loose:
        read.notes.append(
            f"{loose:,} keys in db {cfg.db} have no ':' after {cfg.prefix or 'their start'}: no prefix proposal "
            "covers them" + (", only the whole database." if not cfg.prefix else ".")
        )
    return read


def _dbs(r: Any, cfg: RedisConfig) -> tuple[dict[int, tuple[int, int]], list[str]]:
    """The databases to read (``{db: (keys, with TTL)}``, the form's first) and what the page says of the rest."""
    seen, notes = keyspace(r), []
    if seen is None:
        notes.append(f"The server refused INFO keyspace to this user, so only db {cfg.db} was read.")
        seen = {}
    dbs = {cfg.db: (int(r.dbsize()), seen.get(cfg.db, (0, 0))[1])}
    from inventory.connectors.redis_kv import DB

    highest = int(DB["maximum"])
    beyond = sorted(n for n in seen if n > highest)
    if beyond:
        notes.append(f"{_dbs_text(beyond)} hold keys, but a configuration names dbs 0 to {highest} only: not proposed.")
    if cfg.drill_db is not None and cfg.drill_db != cfg.db and seen.get(cfg.drill_db, (0, 0))[0]:
        notes.append(
            f"db {cfg.drill_db} is the drill database named in the form (drills restore into it): not proposed."
        )
    own = portal_dbs(cfg.host, cfg.port) - {cfg.db}
    for n in sorted(own):
        if seen.get(n, (0, 0))[0]:
            notes.append(f"db {n} is this portal's own task queue: not proposed.")
    others = [
        n
        for n, (keys, _) in seen.items()
        if keys and n not in dbs and n <= highest and n != cfg.drill_db and n not in own
    ]
    for n in sorted(others, key=lambda n: (seen[n][0], n)):  # smallest first: most dbs read whole
        dbs[n] = seen[n]
    return dbs, notes


def portal_dbs(host: str, port: int) -> set[int]:
    """The logical databases of ``host:port`` that this portal itself uses: its Celery broker's."""
    from django.conf import settings

    parts = urllib.parse.urlsplit(str(getattr(settings, "CELERY_BROKER_URL", "")))
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return set()
    loopback = {"localhost", "127.0.0.1", "::1"}
    try:
        same = (parts.hostname == host or {parts.hostname, host} <= loopback) and (parts.port or 6379) == port
        db = int(parts.path.strip("/") or 0)
    except ValueError:  # a port or db that is not a number: not a broker this look can name
        return set()
    return {db} if same else set()


def _dbs_text(numbers: list[int]) -> str:
    return ("db " if len(numbers) == 1 else "dbs ") + ", ".join(str(n) for n in numbers)


def discover_keys(cfg: RedisConfig, base: dict[str, Any], *, limit: int, scan_limit: int | None = None) -> Discovery:
    import redis

    bound = scan_limit or SCAN_LIMIT
    budget = bound  # keys the look may still SCAN, over every database
    # A look waits DISCOVER_TIMEOUT at most to connect and per answer, and does not try again.
    r = cfg.client(timeout=DISCOVER_TIMEOUT, retries=False)
    reads: list[_Read] = []
    unread: list[int] = []
    try:
        dbs, notes = _dbs(r, cfg)
        for n, (total, expires) in dbs.items():
            if budget <= 0:
                unread.append(n)
            try:
                read = _read_one(r, replace(cfg, db=n), base, total=total, expires=expires, budget=budget, bound=bound)
            except (ConnectorError, redis.RedisError) as exc:
                if n == cfg.db:
                    raise
                notes.append(f"db {n} could not be read: {exc}")  # one this user may not SELECT, say
                continue
            budget -= read.scanned
            reads.append(read)
    except redis.RedisError as exc:
        raise Unreachable(f"Redis at {cfg.host}:{cfg.port} failed the look at db {cfg.db}: {exc}.") from None
    finally:
        r.close()
    return _assemble(reads, notes, unread, first=cfg.db, limit=limit, bound=bound)


def _read_one(r: Any, cfg: RedisConfig, base: dict[str, Any], **kwargs: Any) -> _Read:
    """``_read_db`` through ``r`` when it is connected to ``cfg.db``, else through a client of its own."""
    if r.connection_pool.connection_kwargs.get("db") == cfg.db:
        return _read_db(r, cfg, base, **kwargs)
    other = cfg.client(timeout=DISCOVER_TIMEOUT, retries=False)
    try:
        return _read_db(other, cfg, base, **kwargs)
    finally:
        other.close()


def _assemble(
    reads: list[_Read], notes: list[str], unread: list[int], *, first: int, limit: int, bound: int
) -> Discovery:
    """At most ``limit`` proposals, every db's whole first, then prefixes; shown db by db, the form's first."""
    reads = sorted(reads, key=lambda read: (read.db != first, read.db))
    wholes = [read.whole for read in reads if read.whole is not None]
    prefixes = [proposal for read in reads for proposal in read.prefixes]
    keep = {id(proposal) for proposal in wholes[:limit] + prefixes[: max(0, limit - len(wholes))]}
    shown = [
        proposal
        for read in reads
        for proposal in ([read.whole] if read.whole else []) + read.prefixes
        if id(proposal) in keep
    ]
    things = "proposals (every database's whole first, then key prefixes)" if wholes else "key prefixes"
    discovery = Discovery.first(shown, limit=len(shown), total=len(wholes) + len(prefixes), things=things)
    discovery.notes = notes + [note for read in reads for note in read.notes]
    if unread:
        discovery.notes.append(
            f"The key prefixes of {_dbs_text(sorted(unread))} were not read: a look SCANs at most {bound:,} "
            "keys in all, the form's db first and then the others smallest first."
        )
    return discovery
