"""Every connector field is bounded: a bad value is a ConfigInvalid naming the field, never a crash later."""

from __future__ import annotations

import contextlib
import math
import random
import string
from typing import Any

import pytest

from dr_portal import outbound
from inventory.connectors import ConfigInvalid, Proposal, connector_class, kind_fields
from inventory.connectors.config import LIST_MAX, TEXT_MAX
from inventory.connectors.mlflow_rest import MlflowRest
from inventory.connectors.reach import reach
from inventory.discover_rows import proposal_row

PG = {"dbname": "features"}
VEC = {"uri": "/srv/vectors", "model_name": "minilm"}
BAD = [
    ("postgres", {**PG, "port": 99999999999999999999}, "port"),
    ("postgres", {**PG, "port": 70000}, "port"),
    ("postgres", {**PG, "port": 0}, "port"),
    ("postgres", {**PG, "port": -1}, "port"),
    ("postgres", {**PG, "port": 1e20}, "port"),
    ("postgres", {**PG, "connect_timeout": 0}, "connect_timeout"),
    ("postgres", {**PG, "connect_timeout": 10**12}, "connect_timeout"),
    ("postgres", {**PG, "host": "h" * 5000}, "host"),
    ("postgres", {**PG, "tables": [f"public.t{i}" for i in range(LIST_MAX + 1)]}, "tables"),
    ("postgres", {**PG, "tables": ["public." + "t" * TEXT_MAX]}, "tables"),
    ("redis", {"db": 99}, "db"),
    ("redis", {"db": -1}, "db"),
    ("redis", {"port": 0}, "port"),
    ("redis", {"port": 65536}, "port"),
    ("redis", {"drill_db": -5}, "drill_db"),
    ("redis", {"prefix": "k" * (TEXT_MAX + 1)}, "prefix"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": -1}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": -5}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": 0}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": 1e300}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": math.inf}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": math.nan}, "timeout"),
    ("mlflow", {"tracking_uri": "http://h:5000", "timeout": 10**400}, "timeout"),
    ("mlflow", {"tracking_uri": "http://127.0.0.1:99999"}, "tracking_uri"),
    ("mlflow", {"tracking_uri": "http://127.0.0.1:-1"}, "tracking_uri"),
    ("mlflow", {"tracking_uri": "http://" + "a" * 5000 + ":5000"}, "tracking_uri"),
    ("mlflow", {"tracking_uri": "http://" + "a" * 64 + ".example:5000"}, "tracking_uri"),
    ("mlflow", {"tracking_uri": "http://h:5000", "drill_tracking_uri": "http://h2:123456"}, "drill_tracking_uri"),
    ("vector", {**VEC, "golden_queries": -3}, "golden_queries"),
    ("vector", {**VEC, "dimension": -1}, "dimension"),
    ("vector", {**VEC, "top_k": 99999999999}, "top_k"),
    ("vector", {**VEC, "top_k": 0}, "top_k"),
    ("vector", {**VEC, "min_overlap": 1.5}, "min_overlap"),
    ("s3", {"bucket": "b", "endpoint_url": "http://127.0.0.1:99999"}, "endpoint_url"),
    ("s3", {"bucket": "b", "endpoint_url": "http://" + "a" * 300}, "endpoint_url"),
    ("s3", {"bucket": "b" * 64}, "bucket"),
    ("sqlite", {"path": "/srv/a.sqlite3", "busy_timeout": -1}, "busy_timeout"),
    ("sqlite", {"path": "/srv/a.sqlite3", "busy_timeout": 1e300}, "busy_timeout"),
]


@pytest.mark.parametrize(("kind", "config", "field"), BAD, ids=[f"{k}-{f}-{i}" for i, (k, _, f) in enumerate(BAD)])
def test_a_value_out_of_bounds_is_refused_naming_its_field(kind: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        connector_class(kind).parse(config)
    message = str(refused.value)
    assert message.startswith(f"{field}:"), message
    assert len(message) < 200  # a 5,000-character value is not echoed back


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("postgres", {**PG, "port": 1, "connect_timeout": 600}),
        ("postgres", {**PG, "port": 65535, "tables": [f"public.t{i}" for i in range(LIST_MAX)]}),
        ("redis", {"db": 15, "drill_db": 0, "port": 6380}),
        ("mlflow", {"tracking_uri": "http://127.0.0.1:65535", "timeout": 0.5}),
        ("mlflow", {"tracking_uri": "https://[::1]:5000/mlflow", "timeout": 3600}),
        ("vector", {**VEC, "golden_queries": 0, "dimension": 4096, "top_k": 100, "min_overlap": 0}),
        ("sqlite", {"path": "/srv/a.sqlite3", "busy_timeout": 0}),
    ],
)
def test_values_at_the_bounds_are_accepted(kind: str, config: dict[str, Any]) -> None:
    connector_class(kind).parse(config)


def test_the_bounds_are_published_with_the_fields() -> None:
    port = next(f for f in kind_fields("postgres") if f["name"] == "port")
    assert (port["minimum"], port["maximum"]) == (1, 65535)
    db = next(f for f in kind_fields("redis") if f["name"] == "db")
    assert (db["minimum"], db["maximum"]) == (0, 15)


def test_random_numbers_either_parse_within_bounds_or_are_refused() -> None:
    """Cheap fuzz: any number in any numeric field is either accepted inside its bounds or a ConfigInvalid."""
    rng = random.Random(20261201)
    base = {"postgres": PG, "redis": {}, "mlflow": {"tracking_uri": "http://h:1"}, "vector": VEC}
    pool: list[Any] = [0, -1, 1, 2**31, -(2**63), 10**30, 1e308, -0.0, math.inf, -math.inf, math.nan, True, "5"]
    for kind, required in base.items():
        for spec in kind_fields(kind):
            if spec["type"] not in ("integer", "number"):
                continue
            for value in pool + [rng.uniform(-1e6, 1e6) for _ in range(20)] + [rng.randint(-(10**9), 10**9)]:
                try:
                    parsed = connector_class(kind).parse({**required, spec["name"]: value})
                except ConfigInvalid as exc:
                    assert str(exc).startswith(f"{spec['name']}:") or "expected" in str(exc)
                    continue
                got = getattr(parsed, spec["name"])
                assert math.isfinite(got) and spec.get("minimum", -math.inf) <= got <= spec.get("maximum", math.inf)


def test_random_text_in_text_fields_never_raises_anything_but_config_invalid() -> None:
    rng = random.Random(7)
    alphabet = string.printable + "²é\u0000\U0001f600"
    for kind, required in {"postgres": PG, "redis": {}, "mlflow": {"tracking_uri": "http://h:1"}}.items():
        for spec in kind_fields(kind):
            if spec["type"] != "text" or spec["name"] in required:
                continue
            for size in (0, 1, 63, 300, 5000):
                value = "".join(rng.choice(alphabet) for _ in range(size))
                with contextlib.suppress(ConfigInvalid):  # anything else fails the test
                    connector_class(kind).parse({**required, spec["name"]: value})


@pytest.mark.parametrize(
    ("host", "port", "said"),
    [
        ("127.0.0.1", -1, "not a TCP port"),
        ("127.0.0.1", 70000, "not a TCP port"),
        ("127.0.0.1", 99999999999999999999, "not a TCP port"),
        ("a" * 5000, 5432, "not a valid name"),
        ("a" * 64 + ".example", 5432, "not a valid name"),
        ("", 5432, "not a valid name"),
    ],
)
def test_the_outbound_guard_refuses_a_malformed_host_or_port_clearly(host: str, port: int, said: str) -> None:
    with pytest.raises(outbound.Malformed, match=said):
        outbound.connector_address(host, port)
    with pytest.raises(ConfigInvalid, match=said):
        reach("PostgreSQL", host, port)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://" + "a" * 5000 + "/", "http://" + "b" * 64 + "/"])
def test_an_outbound_request_to_a_malformed_url_is_refused_not_a_crash(url: str) -> None:
    with pytest.raises(outbound.Malformed), outbound.opened(url, timeout=1, connector=True):
        pass


@pytest.mark.parametrize("timeout", [-1, 0, 1e300, math.inf, math.nan])
def test_the_mlflow_client_refuses_a_timeout_a_socket_cannot_take(timeout: float) -> None:
    with pytest.raises(ConfigInvalid, match="timeout"):
        MlflowRest("http://127.0.0.1:5000", timeout=timeout)


@pytest.mark.parametrize(
    ("tag", "tier", "labelled"), [("²", 2, False), ("٣", 2, False), ("7", 2, False), ("1", 1, True)]
)
def test_a_tier_tag_is_a_tier_only_when_it_is_0_to_3(tag: str, tier: int, labelled: bool) -> None:
    proposal = Proposal(name="m", kind="model", config={}, labels={"tier": tag})
    row = proposal_row(proposal, kind="mlflow", asset_kind="model")
    assert (row["tier"], row["tier_labelled"]) == (tier, labelled)
