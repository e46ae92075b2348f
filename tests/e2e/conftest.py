"""A headless Chromium (Debian's) driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.factories import UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(f"E2E_REQUIRED is set but Chromium is missing at {CHROMIUM}")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    # Playwright's sync API runs an event loop; Django must allow ORM calls
    # from tests meanwhile. Only while browsers run: subprocesses must not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


PHONE = {"width": 390, "height": 844}
PASSWORD = "browser password"


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def phone(browser, live_server) -> Iterator[Callable[[str], Any]]:
    """``phone(role)``: a tab 390 px wide, signed in as a new person of that role, on the dashboard."""
    contexts: list[Any] = []

    def signed_in(role: str) -> Any:
        user = UserFactory.create(role=role, password=PASSWORD)
        context = browser.new_context(viewport=PHONE)
        contexts.append(context)
        tab = context.new_page()
        tab.goto(f"{live_server.url}/accounts/login/")
        tab.fill("#id_username", user.username)
        tab.fill("#id_password", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{live_server.url}/")
        return tab

    yield signed_in
    for context in contexts:
        context.close()


def assert_within_card(page: Any, wrap: Any, selector: str) -> None:
    """Nothing scrolls sideways in the card ``wrap``, and every ``selector`` ends inside it."""
    sideways = wrap.evaluate("el => el.scrollWidth - el.clientWidth")
    assert sideways <= 0, f"the table scrolls {sideways} px sideways on a phone"
    card = wrap.bounding_box()
    found = page.locator(selector)
    assert found.count() > 0, selector
    for i in range(found.count()):
        box = found.nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (selector, i, box, card)
