"""A plan that would restore a folder asset over the portal's own VAR_DIR (the tier-0 `dr-portal` asset's
source) is refused before it starts; a drill of the same asset, into a folder under VAR_DIR, is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inventory.models import Asset
from tests.runs.conftest import make_plan

pytestmark = pytest.mark.django_db


def test_a_restore_over_var_dir_is_a_plan_problem(make_asset: Callable[..., Asset], settings: Any) -> None:
    from incidents.runs.resolve import resolve

    asset = make_asset("portal-like")
    plan = make_plan([{"key": "r", "kind": "restore", "asset": asset.name}])
    assert not [p for p in resolve(plan=plan, mode="recovery").problems if "portal's own" in p]

    settings.VAR_DIR = Path(asset.source_uri)
    problems = resolve(plan=plan, mode="recovery").problems
    assert any(p.startswith("portal-like: ") and "portal's own data folder" in p for p in problems), problems
    assert not [p for p in resolve(plan=plan, mode="drill").problems if "portal's own" in p]
