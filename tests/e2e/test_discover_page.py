"""Discovery as a person sees it: a LanceDB folder and a Redis db looked into, at desk and phone widths.

Each proposal shows what was read (rows, dimension, model; keys, TTLs, types) and the page says when
a bound cut the look short. Nothing may stick out of the page on a phone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dr_portal.accounts.models import Role
from tests.conftest import enrol_totp, totp_now
from tests.factories import UserFactory
from tests.inventory.connectors.discovery_systems import fill_features, make_lance, redis_config, redis_db

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["redis_db"]
WIDTHS = (1440, 390)


def _signed_in(browser: Any, url: str, width: int) -> Any:
    user = UserFactory.create(username=f"ada{width}", role=Role.ADMIN, password="browser password")
    device = enrol_totp(user)
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{url}/inventory/discover/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "browser password")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/mfa/**")
    page.fill("#id_code", totp_now(device))
    page.click("button[type=submit]")
    page.wait_for_url("**/inventory/discover/")
    return page


def _fits(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px too wide"
    for box in page.locator("fieldset.proposal").all():
        inner = box.evaluate("el => el.scrollWidth - el.clientWidth")
        assert inner <= 0, f"a proposal is {inner} px wider than its box"


@pytest.mark.parametrize("width", WIDTHS)
def test_lancedb_proposals_read_well(live_server: Any, browser: Any, settings: Any, tmp_path: Path, width: int) -> None:
    uri = make_lance(tmp_path / "lance")
    page = _signed_in(browser, live_server.url, width)
    page.goto(f"{live_server.url}/inventory/discover/?kind=vector")
    page.fill("#id_config_uri", str(uri))
    page.get_by_role("button", name="Look for assets").click()
    page.wait_for_selector("#proposals-h")
    assert "4 proposals" in page.locator("#proposals-h").inner_text()
    kb = page.locator("fieldset.proposal", has_text="support-kb-index")
    assert (
        "minilm-support@r3" in kb.inner_text() and "Support articles index" in kb.locator("input").nth(2).input_value()
    )
    bare = page.locator("fieldset.proposal", has_text="lance-bare")
    assert bare.locator("input[type=checkbox]").is_disabled()
    _fits(page)
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-discover-lancedb-{width}.png"), full_page=True)


@pytest.mark.servers
@pytest.mark.parametrize("width", WIDTHS)
def test_redis_proposals_say_the_scan_bound(
    live_server: Any, browser: Any, settings: Any, redis_db: Any, monkeypatch: Any, width: int
) -> None:
    fill_features(redis_db)
    monkeypatch.setattr("inventory.connectors.redis_discover.SCAN_LIMIT", 200)
    page = _signed_in(browser, live_server.url, width)
    page.goto(f"{live_server.url}/inventory/discover/?kind=redis")
    cfg = redis_config()
    page.fill("#id_config_port", str(cfg["port"]))
    page.fill("#id_config_db", str(cfg["db"]))
    page.get_by_role("button", name="Look for assets").click()
    page.wait_for_selector("#proposals-h")
    assert f"of the 372 keys in db {cfg['db']}" in page.locator(".alert[role=status]").inner_text()
    _fits(page)
    page.screenshot(path=str(settings.VAR_DIR / f"e2e-discover-redis-{width}.png"), full_page=True)


def test_changing_the_system_swaps_its_fields_in_place(live_server: Any, browser: Any, settings: Any) -> None:
    page = _signed_in(browser, live_server.url, 1440)
    assert page.locator("#id_config_tracking_uri").is_visible()
    assert not page.locator("#look-busy").is_visible()  # the indicator shows only while a look runs
    page.select_option("#id_kind", "postgres")
    page.wait_for_selector("#id_config_dbname")  # swapped on change, nothing submitted
    assert page.locator("#id_config_tracking_uri").count() == 0
    assert page.url.endswith("/inventory/discover/")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-discover-swap-1440.png"), full_page=True)
