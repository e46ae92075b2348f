"""A connector's kept-alive connection to its server sends small requests at once (TCP_NODELAY).

The pinned connection replaces http.client's ``connect``, which is where http.client turns
Nagle's algorithm off; without it every POST whose body follows its headers in a second write
waited for the server's delayed ACK, ~40 ms each, which dominated an MLflow restore.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from dr_portal.outbound import connector_connection


@pytest.fixture
def server() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(timeout=5)
    listener.close()


def test_the_pinned_connection_turns_nagle_off(server: int) -> None:
    connection = connector_connection(f"http://127.0.0.1:{server}/", timeout=5)
    connection.request("POST", "/api", body=b"{}", headers={"Content-Type": "application/json"})
    assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert connection.getresponse().read() == b"{}"
    connection.close()
