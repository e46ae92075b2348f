"""Items 9 and 10 as pages say them: display names, "just now", ISO dates, the favicon and the mobile menu."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from dr_portal.accounts.templatetags.humane import relative_to
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_relative_times_say_just_now_then_minutes() -> None:
    now = timezone.now()
    assert relative_to(now - timedelta(seconds=10), now) == "just now"
    assert relative_to(now - timedelta(minutes=4, seconds=3), now) == "4 min ago"
    assert relative_to(now + timedelta(hours=2, minutes=5), now) == "in 2 h 5 min"


def test_person_is_the_display_name_or_else_the_username() -> None:
    named = UserFactory.build(username="commander", first_name="Chris", last_name="Commander")
    bare = UserFactory.build(username="robot", first_name="", last_name="")
    rendered = Template("{{ a|person }}/{{ b|person }}/{{ c|person }}").render(
        Context({"a": named, "b": bare, "c": None})
    )
    assert rendered == "Chris Commander/robot/—"


def test_incident_list_shows_the_commanders_display_name(client_for, commander, viewer, sev1) -> None:
    from incidents.services import role_assign

    role_assign(incident=sev1, role="commander", user=commander, by=commander)
    html = client_for(viewer).get(reverse("incidents:index")).content.decode()
    assert commander.get_full_name() in html
    assert f"<td>{commander.username}</td>" not in html


def test_every_page_has_a_favicon_a_menu_toggle_and_the_shortcut_help(client_for, viewer) -> None:
    html = client_for(viewer).get(reverse("dashboard")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert 'class="nav-toggle"' in html and 'id="kbd-help"' in html
    assert "js/cockpit.js" in html
