"""Assert that a refused request left the database as it found it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.db.models import Model


def _row(row: Model) -> dict[str, Any]:
    fresh = type(row)._default_manager.get(pk=row.pk)
    return {field.attname: getattr(fresh, field.attname) for field in type(row)._meta.concrete_fields}


def _state(rows: tuple[Model, ...]) -> dict[str, Any]:
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    return {"counts": counts, "rows": [_row(row) for row in rows]}


@contextmanager
def nothing_changes(*rows: Model) -> Iterator[None]:
    """Every table keeps its row count (so no audit event either) and `rows` keep every field."""
    before = _state(rows)
    yield
    after = _state(rows)
    assert after["counts"] == before["counts"], {
        label: (before["counts"][label], n) for label, n in after["counts"].items() if before["counts"][label] != n
    }
    assert after["rows"] == before["rows"]
