"""A schema-driven fuzzer (schemathesis) against the live OpenAPI schema: no server errors, no schema violations.

Every operation is called with generated input as a verified admin (through an
MFA-verified API token), so every read and write path is reached; the checks
are schemathesis' defaults: no 5xx, status codes, content types, headers and
bodies as the schema declares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from dr_portal.accounts.models import Role
from dr_portal.accounts.services import token_issue
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


@pytest.fixture
def fuzz_headers(db: None) -> dict[str, str]:
    admin = UserFactory.create(username="fuzz-admin", role=Role.ADMIN)
    return {"Authorization": f"Bearer {token_issue(user=admin, name='fuzz', mfa_verified=True).raw}"}


@pytest.fixture
def api_schema(fuzz_headers: dict[str, str], settings: Any) -> Iterator[schemathesis.BaseSchema]:
    from dr_portal.wsgi import application

    settings.ALERT_INTAKE_TOKEN = "fuzz-intake-token-of-24-characters"  # the intake on, as in production

    # The WSGI handler closes the connection after each request; the test's transaction must outlive
    # them (Django's own test client disconnects the same hooks).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=fuzz_headers)
        # NUL is not text any client sends; Django's forms refuse it by design.
        schema.config.generation.update(allow_x00=False)
        yield schema
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_api_answers_within_its_schema(api_schema: schemathesis.BaseSchema, fuzz_headers: dict[str, str]) -> None:
    # schemathesis' own pytest plug-in does not run under this pytest; hypothesis drives each operation instead.
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here, and fails

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def call(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=fuzz_headers)

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
