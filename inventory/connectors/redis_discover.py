"""What a Redis logical database holds, as proposals: one per key prefix, and one for the whole database.

Keys are listed with SCAN (never KEYS), ``COUNT`` keys a step, and a look stops after
``scan_limit`` keys (or as many steps), so a large database costs a bounded number of
round trips; the page then says how many keys of ``DBSIZE`` were seen and that the
counts are of those. A key is grouped by its first segment after the configured prefix
(``fraud:card:17`` → ``fraud:``); keys with no ``:`` there belong to no prefix group and
only the whole-database proposal covers them. Per group: keys, keys with a TTL, types.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from inventory.connectors.base import DISCOVER_TIMEOUT, Discovery, Proposal

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


def discover_keys(cfg: RedisConfig, base: dict[str, Any], *, limit: int, scan_limit: int | None = None) -> Discovery:
    scan_limit = scan_limit or SCAN_LIMIT
    # A look waits DISCOVER_TIMEOUT at most to connect and per answer, and does not try again.
    r = cfg.client(timeout=DISCOVER_TIMEOUT, retries=False)
    total = int(r.dbsize())
    keys, examined = scan_keys(r, cfg.prefix, scan_limit)
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
    where = f"redis-db{cfg.db}"
    found: list[Proposal] = []
    for group in sorted(groups)[:limit]:
        try:
            prefix = group.decode("utf-8")
        except UnicodeDecodeError:
            prefix, problem = _text(group), "The prefix is not UTF-8 text, which a configuration cannot name."
        else:
            problem = ""
        found.append(
            Proposal(
                name=_slug(f"{where}-{prefix}")[:100] or where,
                kind="redis",
                config={**base, "prefix": prefix},
                labels={"prefix": prefix, **_facts([facts[k] for k in groups[group]], complete=complete)},
                title=f"Keys {prefix}* in Redis db {cfg.db}",
                problem=problem,
            )
        )
    discovery = Discovery.first(found, limit=limit, total=len(groups), things="key prefixes")
    if not cfg.prefix:
        whole = _facts(list(facts.values()), complete=True)
        whole["keys"] = str(total)
        discovery.proposals.insert(
            0,
            Proposal(
                name=where,
                kind="redis",
                config={**base, "prefix": ""},
                labels={"db": str(cfg.db), **whole} if complete else {"db": str(cfg.db), "keys": str(total)},
                title=f"Redis db {cfg.db}, every key",
            ),
        )
    if not complete:
        under = f" ({len(keys):,} of them under {cfg.prefix})" if cfg.prefix else ""
        discovery.notes.append(
            f"Showing what the first {min(examined, total):,} of the {total:,} keys in db {cfg.db} hold{under}: "
            f"a look SCANs at most {scan_limit:,} keys, so the counts are of those keys only and prefixes "
            "that appear only further on are not listed."
        )
    if loose:
        discovery.notes.append(
            f"{loose:,} keys have no ':' after {cfg.prefix or 'their start'}: no prefix proposal covers them"
            + (", only the whole database." if not cfg.prefix else ".")
        )
    return discovery
