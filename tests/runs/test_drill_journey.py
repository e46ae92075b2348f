"""The commander's drill journey: a drill's certificate does not claim it serves anything, a drill whose
run recorded every outcome says so and resolves in one step, a run started from a drill preselects
the only plan that covers it, and a plan's step parameters read yes/no."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import IncidentStatus
from incidents.runs.drills import drill_run_start
from incidents.services.drills import drill_start
from incidents.services.lifecycle import incident_transition
from inventory.models import Asset
from tests.runs.conftest import drive, make_plan, start_run
from tests.runs.test_connector_runs import _restore_and_verify, connector_asset, flags  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_drill_certificate_says_the_drill_copy_was_restored_not_what_now_serves(
    flags: Asset,  # noqa: F811
    commander,
    client: Client,
) -> None:
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    client.force_login(commander)
    page = client.get(reverse("runs:detail", args=[run.public_id])).content.decode()
    assert "Recovery-equivalence certificate" in page
    assert "now serving" not in page
    assert "restored into a drill copy; still served from primary" in page


def test_a_recovery_certificate_still_says_what_now_serves(flags: Asset, commander, client: Client) -> None:  # noqa: F811
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags, replace=True)), mode="recovery", by=commander))
    assert run.status == "succeeded", run.error
    client.force_login(commander)
    assert "now serving: primary" in client.get(reverse("runs:detail", args=[run.public_id])).content.decode()


def test_a_drill_whose_run_recorded_every_outcome_says_it_is_done_and_resolves_in_one_step(
    flags: Asset,  # noqa: F811
    commander,
    client: Client,
) -> None:
    run = drive(drill_run_start(names=[flags.name], scenario="quarterly drill", by=commander))
    assert run.status == "succeeded", run.error
    drill = run.incident
    assert drill is not None
    drill.refresh_from_db()
    assert drill.status == IncidentStatus.DECLARED and drill.drill_done
    assert drill.allowed_next[0] == IncidentStatus.RESOLVED
    client.force_login(commander)
    page = client.get(reverse("incidents:detail", args=[drill.public_id])).content.decode()
    assert "<strong>Drill done:</strong> every asset's outcome is recorded (1 passed). Resolve the drill" in page
    response = client.post(reverse("incidents:status", args=[drill.public_id]), {"to": "resolved"})
    assert response.status_code in (200, 302)
    drill.refresh_from_db()
    assert drill.status == IncidentStatus.RESOLVED and drill.resolved_at is not None
    assert "Drill done" not in client.get(reverse("incidents:detail", args=[drill.public_id])).content.decode()


def test_a_drill_with_an_outcome_still_missing_follows_the_usual_states(flags: Asset, commander) -> None:  # noqa: F811
    drill = drill_start(assets=[flags], scenario="by hand", by=commander, commander=commander)
    assert not drill.drill_done and drill.allowed_next == (IncidentStatus.INVESTIGATING,)
    with pytest.raises(Exception, match="cannot go from declared to resolved"):
        incident_transition(incident=drill, to=IncidentStatus.RESOLVED, by=commander)


def test_starting_a_run_from_a_drill_preselects_the_only_plan_that_covers_it(
    flags: Asset,  # noqa: F811
    connector_asset: Callable[..., Asset],  # noqa: F811
    commander,
    client: Client,
    tmp_path,
) -> None:
    drill = drill_start(assets=[flags], scenario="by hand", by=commander, commander=commander)
    plan = make_plan(_restore_and_verify(flags), name="flags only")
    other = connector_asset("other-db", "sqlite", {"path": str(tmp_path / "other.sqlite3")}, backup=False)
    make_plan(_restore_and_verify(other), name="another asset")
    client.force_login(commander)
    url = reverse("runs:new") + f"?incident={drill.public_id}&mode=drill"
    page = client.get(url).content.decode()
    assert f'<option value="{plan.public_id}" selected>' in page
    assert "flags only" in page and 'id="preview"' in page

    make_plan(_restore_and_verify(flags), name="flags again")  # two plans cover it: the person chooses
    page = client.get(url).content.decode()
    assert "selected>flags" not in page and f'<option value="{plan.public_id}" selected>' not in page


def test_a_plans_step_parameters_read_yes_and_no(flags: Asset, commander, client: Client) -> None:  # noqa: F811
    plan = make_plan(_restore_and_verify(flags, replace=False, target_config={"path": "/srv/x.sqlite3"}))
    client.force_login(commander)
    page = client.get(reverse("inventory:plan", args=[plan.public_id])).content.decode()
    assert "<code>replace</code>: no" in page
    assert "False" not in page and "{&#x27;path" not in page
    assert "<code>target_config</code>: path: /srv/x.sqlite3" in page
