"""The history page's capture descriptions and alias answer, and the run page's connector checks and
clean-up lines, in a real Chromium at 1440 and 390 px: readable, and no wider than the screen."""

from __future__ import annotations

from typing import Any

import pytest

from dr_portal.accounts.models import Role
from tests.factories import AssetFactory, RecoveryRunFactory, StepRunFactory
from tests.runs.test_capture_pages import T0, _mlflow, _point

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WIDTHS = (1440, 390)
KEPT_WHY = "it was in the target registry before this run"
ASK = "model=fraud-detection&alias=champion&at=2026-11-30T10:30"


def _run() -> Any:
    run = RecoveryRunFactory.create(status="failed", mode="drill", finished_at=T0, cleaned_at=T0)
    checks = [
        {"name": "fraud-detection v3 artifact hashes", "expected": {"MLmodel": "9f2c" * 16}, "found": {}, "ok": False},
        {"name": "cases golden top-5 overlap at least 0.8", "expected": True, "found": True, "ok": True},
    ]
    connector = {
        "ok": False,
        "summary": "mlflow: 1 of 2 checks failed",
        "checks": checks,
        "notes": ["cases: 3 golden queries, top-5 overlap mean 0.93, min 0.80"],
    }
    ledger = [
        {"kind": "model", "name": "fraud-detection", "state": "kept", "why": KEPT_WHY},
        {"kind": "run", "name": "935deeac3d684656a20ad7236f467b52", "state": "removed"},
        {"kind": "experiment", "name": "2", "state": "removed"},
    ]  # fmt: skip
    StepRunFactory.create(
        run=run, state="failed", error="The target registry already holds fraud-detection.", bytes_done=547226,
        bytes_total=547226, evidence={"connector": connector}, ledger=ledger,
    )  # fmt: skip
    return run


def test_capture_and_clean_up_pages_at_1440_and_390(live_server, browser, phone, settings) -> None:
    asset = AssetFactory.create(name="fraud-model", connector="mlflow")
    _point(asset, T0, "mlflow", _mlflow({"champion": "2"}))
    _point(asset, T0.replace(hour=11), "mlflow", _mlflow({"champion": "3", "challenger": "2"}))
    run = _run()
    tab = phone(Role.INCIDENT_COMMANDER)
    pages = {
        "history": f"/inventory/assets/{asset.public_id}/history/?{ASK}",
        "run": f"/runs/{run.public_id}/",
    }
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            tab.goto(live_server.url + url)
            if name == "run":
                tab.locator("details.connector-checks summary").first.click()
                assert "Clean-up removed:" in tab.inner_text("body")
            else:
                assert "named version 2" in tab.inner_text("#aliases")
            overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width} px is {overflow} px too wide"
            tab.screenshot(path=str(settings.VAR_DIR / f"e2e-{name}-{width}.png"), full_page=True)
