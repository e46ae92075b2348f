"""Discovery given a bad value answers with the error on its field, never a server error."""

from __future__ import annotations

import re
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
