"""Discovery given a bad value answers with the error on its field, never a server error."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

MLFLOW = {"kind": "mlflow", "region": "eu-west-1", "config_tracking_uri": "http://127.0.0.1:5000"}
PG = {"kind": "postgres", "region": "eu-west-1", "config_dbname": "features"}
CASES = [
    ({**MLFLOW, "config_timeout": "-1"}, "timeout"),
    ({**MLFLOW, "config_timeout": "1e300"}, "timeout"),
    ({**MLFLOW, "config_timeout": "nan"}, "timeout"),
    ({**MLFLOW, "config_tracking_uri": "http://127.0.0.1:99999"}, "tracking_uri"),
    ({**MLFLOW, "config_tracking_uri": "http://127.0.0.1:-1"}, "tracking_uri"),
    ({**MLFLOW, "config_tracking_uri": "http://" + "a" * 5000 + ":5000"}, "tracking_uri"),
    ({**PG, "config_port": "99999999999999999999"}, "port"),
    ({**PG, "config_port": "-1"}, "port"),
    ({**PG, "config_port": "70000"}, "port"),
    ({**PG, "config_connect_timeout": "0"}, "connect_timeout"),
    ({**PG, "config_host": "h" * 5000}, "host"),
    ({"kind": "redis", "region": "eu-west-1", "config_db": "99"}, "db"),
    ({"kind": "redis", "region": "eu-west-1", "config_port": "0"}, "port"),
]


@pytest.mark.parametrize(
    ("fields", "field"), CASES, ids=[f"{f['kind']}-{name}-{i}" for i, (f, name) in enumerate(CASES)]
)
def test_a_bad_value_is_an_error_on_its_field(fields: dict[str, Any], field: str, admin: Any, client_for: Any) -> None:
    client = client_for(admin, mfa=True)
    response = client.post("/inventory/discover/", {"action": "find", "config_kind": fields["kind"], **fields})
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(rf'id="id_config_{field}_error"', page), page[:3000]
    assert "does not resolve" not in page and "invalid port number" not in page  # no misleading reason


@pytest.fixture
def odd_server() -> Any:
    """A loopback server that accepts and then either never answers (None) or answers ``reply`` and hangs up."""
    listening: list[socket.socket] = []

    def start(reply: bytes | None) -> int:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        listening.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                if reply is not None:
                    with conn:
                        conn.recv(1024)
                        conn.sendall(reply)

        threading.Thread(target=serve, daemon=True).start()
        port: int = server.getsockname()[1]
        return port

    yield start
    for server in listening:
        server.close()


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (None, "did not answer within 5 s"),  # a Redis that hangs: one wait of the look's bound, then a message
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "did not answer as a Redis server does (InvalidResponse)"),
    ],
)
def test_redis_discovery_of_a_server_that_is_not_redis_says_so(
    reply: bytes | None, said: str, odd_server: Any, admin: Any, client_for: Any
) -> None:
    port = odd_server(reply)
    client = client_for(admin, mfa=True)
    client.raise_request_exception = False
    fields = {"kind": "redis", "config_kind": "redis", "region": "eu-west-1", "config_host": "127.0.0.1"}
    started = time.monotonic()
    response = client.post("/inventory/discover/", {"action": "find", **fields, "config_port": str(port)})
    assert response.status_code == 200, response.status_code
    assert f"Redis at 127.0.0.1:{port} {said}" in response.content.decode()
    assert time.monotonic() - started < 10  # redis-py's own three retries made it about a minute
