"""Connector failures say what a network error means, keep the system's words, and name a group member one way.

The demo showed "[Errno 111] Connection refused" raw, and a group's failures read "fraud-model-group:
Group member …" on one line and "Group member …" (or no member at all) on the next.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.connectors import Unreachable, get_connector
from inventory.connectors.group import Group
from inventory.connectors.wording import plain_network_error
from tests.workers import free_port

pytestmark = pytest.mark.usefixtures("loopback_allowed")


def test_a_refused_connection_is_said_in_plain_words_and_keeps_the_detail(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(Unreachable) as caught:
        get_connector("redis", {"port": port}).snapshot(tmp_path)
    message = str(caught.value)
    assert message.startswith("Nothing is listening at the address given (connection refused): is the server")
    assert f"Detail: Redis at 127.0.0.1:{port} cannot be reached: " in message
    assert "Connection refused" in message.split("Detail: ")[1]


def test_a_host_name_that_does_not_exist_is_said_so(tmp_path: Path) -> None:
    with pytest.raises(Unreachable) as caught:
        get_connector("redis", {"host": "no-such-host.invalid", "port": 6379}).snapshot(tmp_path)
    assert str(caught.value).startswith("The host name could not be found (name not known)"), str(caught.value)


@pytest.mark.parametrize(
    ("raw", "start"),
    [
        ("S3 cannot be reached: Connect timeout on endpoint URL", "The server did not answer in time (timed out)"),
        ("x cannot be reached: [Errno -2] Name or service not known.", "The host name could not be found"),
        ("x cannot be reached: [Errno 113] No route to host.", "The network has no way to that address"),
    ],
)
def test_common_network_errors_get_plain_words(raw: str, start: str) -> None:
    said = plain_network_error(raw)
    assert said.startswith(start) and said.endswith(f"Detail: {raw}")
    assert plain_network_error(said) == said, "explained once, however often it is re-raised"


def test_other_failures_are_left_as_they_are() -> None:
    assert plain_network_error("Redis at h:1 answered: WRONGTYPE") == "Redis at h:1 answered: WRONGTYPE"


def test_a_group_member_failure_is_named_the_same_way_in_capture_as_in_restore(tmp_path: Path) -> None:
    """A member's capture failing said nothing of which member; restore and clean-up said "Group member …"."""
    port = free_port()
    group = Group({"features": get_connector("redis", {"port": port, "db": 3, "prefix": "fraud:"})})
    (tmp_path / "capture").mkdir()
    with pytest.raises(Unreachable) as caught:
        group.snapshot(tmp_path / "capture")
    message = str(caught.value)
    assert message.startswith("Group member features: Nothing is listening at the address given"), message
    assert message.count("Detail:") == 1
