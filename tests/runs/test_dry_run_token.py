"""The dry run on /runs/new/ never puts the CSRF token in a URL.

A form submitted with GET sends every field in the query string, the hidden
csrfmiddlewaretoken included, and from there it reaches the browser history,
proxies and the server's access log. These tests read the page the way a
browser (and htmx) would submit it, then submit it for real with CSRF checks on.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from incidents.runs.models import RecoveryRun
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


class _StartForm(HTMLParser):
    """The start form: its attributes, its named fields and the Dry run button's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.dry_button: dict[str, str] = {}
        self._in_form = self._in_button = False
        self._button: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and found.get("action") == "/runs/new/":
            self.form, self._in_form = found, True
        elif self._in_form and tag in ("input", "select", "textarea") and found.get("name"):
            self.fields[found["name"]] = found.get("value", "")
        elif self._in_form and tag == "button":
            self._button, self._in_button = found, True

    def handle_data(self, data: str) -> None:
        if self._in_button and data.strip() == "Dry run":
            self.dry_button = self._button

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "button":
            self._in_button = False


def _start_form(client: Client) -> _StartForm:
    page = client.get("/runs/new/")
    assert page.status_code == 200
    parsed = _StartForm()
    parsed.feed(page.content.decode())
    assert parsed.form and parsed.dry_button, "the start form and its Dry run button"
    return parsed


def _urls_a_dry_run_builds(form: _StartForm, values: dict[str, Any]) -> list[str]:
    """The URLs a browser's Dry run click and htmx's preview on change would request."""
    urls = []
    button_method = (form.dry_button.get("formmethod") or form.form.get("method") or "get").lower()
    fields = {**form.fields, **values}
    if button_method == "get":
        urls.append(f"{form.dry_button.get('formaction') or form.form['action']}?{urlencode(fields)}")
    if "hx-get" in form.form:  # htmx sends the whole form in the query string of a GET
        urls.append(f"{form.form['hx-get']}?{urlencode(fields)}")
    return urls


def test_the_dry_run_puts_no_token_in_a_url(simple_plan: Any, commander: Any, client_for: Any) -> None:
    form = _start_form(client_for(commander))
    assert "csrfmiddlewaretoken" in form.fields
    urls = _urls_a_dry_run_builds(form, {"plan": str(simple_plan.public_id), "mode": "drill"})
    assert [u for u in urls if "csrfmiddlewaretoken" in u] == []


def test_the_commander_dry_runs_with_a_post_that_starts_nothing(
    simple_plan: Any, commander: Any, client_for: Any
) -> None:
    client = client_for(commander)
    client.handler.enforce_csrf_checks = True
    form = _start_form(client)
    drill = IncidentFactory.create(kind="drill", title="Quarterly drill")
    values = {**form.fields, "plan": str(simple_plan.public_id), "mode": "drill", "incident": str(drill.public_id)}
    name, value = form.dry_button["name"], form.dry_button["value"]
    page = client.post("/runs/new/", {**values, name: value})
    text = page.content.decode()
    assert page.status_code == 200 and "Bytes to move" in text and "RTO forecast" in text
    # htmx's preview on change: the same post, marked by hx-vals.
    partial = client.post("/runs/new/", {**values, "dry_run": "1"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "Bytes to move" in partial.content.decode()
    assert not RecoveryRun.objects.exists()
    started = client.post("/runs/new/", values)
    assert started.status_code == 302 and RecoveryRun.objects.count() == 1
