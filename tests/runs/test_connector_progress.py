"""A connector restore says where it stands (member and phase) while it runs, saves that at a bounded
rate, refuses a full target before reading the vault, tells a drill what to do about a full target,
and says on the run page when a replace swapped out the old content."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.runs.models import RecoveryRun, StepRun, StepState
from incidents.runs.services.connector_steps import StepPhase
from inventory import demo_connectors
from inventory.models import Asset
from tests.runs.conftest import drive, make_plan, start_run
from tests.runs.test_connector_runs import _restore_and_verify, _rows, connector_asset, flags  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(tmp_path: Path, flags: Asset, connector_asset: Callable[..., Asset]) -> Asset:  # noqa: F811
    connector_asset("kb-index", "vector", demo_connectors.articles_index(tmp_path / "systems" / "kb"), backup=False)
    return connector_asset("kb-group", "group", {"members": ["kb-index", "flags-db"]})


def _watch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every phase a step says, with what the run page would read from the database right after."""
    seen: list[tuple[str, str]] = []
    say = StepPhase.__call__

    def watched(self: StepPhase, phase: str, detail: str = "") -> None:
        say(self, phase, detail)
        seen.append((phase, StepRun.objects.get(pk=self.step.pk).phase))

    monkeypatch.setattr(StepPhase, "__call__", watched)
    return seen


def test_a_group_restore_names_the_member_and_phase_it_is_in(group: Asset, commander, monkeypatch) -> None:
    seen = _watch(monkeypatch)
    run = drive(start_run(plan=make_plan(_restore_and_verify(group)), mode="drill", by=commander))
    assert run.status == "succeeded", run.error
    phases = [phase for phase, _ in seen]
    expected = [
        "checking that the target is empty",
        "reading the point back from the vault",
        "kb-index (1 of 2): restoring into the target",
        "kb-index (1 of 2): putting the restored tables in place",
        "flags-db (2 of 2): restoring into the target",
        "flags-db (2 of 2): putting the restored copy in place",
        "kb-index (1 of 2): verifying against the point",
        "flags-db (2 of 2): verifying against the point",
        "removing the staging folder",
    ]
    rest = iter(phases)
    assert all(phase in rest for phase in expected), phases  # said in this order
    # A drill's target is fresh: the restored copy's one full check is the verify step.
    assert "flags-db (2 of 2): checking the restored copy before it goes in" not in phases
    # The verify step of the group says its members too.
    assert phases[-2:] == [
        "kb-index (1 of 2): verifying against the point",
        "flags-db (2 of 2): verifying against the point",
    ]
    # What the page reads is what was said: each new phase is saved at once.
    assert all(saved == phase for phase, saved in seen)


def test_a_phase_is_saved_at_once_and_details_within_it_at_a_bounded_rate(flags: Asset, commander) -> None:  # noqa: F811
    run = start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander)
    step = run.steps.get(key="restore")
    StepRun.objects.filter(pk=step.pk).update(state=StepState.RUNNING, attempt=1)
    step.refresh_from_db()
    say = StepPhase(step, every=3600)
    say("writing keys under staging names", "1,000 of 90,000 keys")
    for done in range(2000, 90001, 1000):  # a detail per batch: none of these is saved
        say("writing keys under staging names", f"{done:,} of 90,000 keys")
    step.refresh_from_db()
    assert step.phase == "writing keys under staging names — 1,000 of 90,000 keys"
    first_at = step.phase_at
    say("swapping in the restored keys")
    step.refresh_from_db()
    assert step.phase == "swapping in the restored keys"
    assert step.phase_at is not None and first_at is not None and step.phase_at >= first_at
    assert say.writes == 2

    fast = StepPhase(step, every=0)
    fast("writing keys under staging names", "1 of 2 keys")
    fast("writing keys under staging names", "2 of 2 keys")
    step.refresh_from_db()
    assert step.phase == "writing keys under staging names — 2 of 2 keys"


def test_the_run_page_shows_the_running_steps_member_and_phase(flags: Asset, commander, client: Client) -> None:  # noqa: F811
    run = start_run(plan=make_plan(_restore_and_verify(flags)), mode="drill", by=commander)
    step = run.steps.get(key="restore")
    StepRun.objects.filter(pk=step.pk).update(
        state=StepState.RUNNING,
        attempt=1,
        bytes_done=100,
        bytes_total=100,
        phase="flags-db (2 of 2): swapping in the restored copy",
        phase_at=timezone.now() - timedelta(seconds=75),
    )
    RecoveryRun.objects.filter(pk=run.pk).update(status="running")
    client.force_login(commander)
    page = client.get(reverse("runs:detail", args=[run.public_id]), headers={"HX-Request": "true"}).content.decode()
    assert "flags-db (2 of 2): swapping in the restored copy" in page
    assert "<strong>Now:</strong>" in page and re.search(r"· for 1 min 1[5-9] s", page)  # to the second
    # A script following the run reads the same through the API.
    api = client.get(f"/api/v1/runs/{run.public_id}/").json()
    [restore] = [s for s in api["steps"] if s["key"] == "restore"]
    assert restore["phase"] == "flags-db (2 of 2): swapping in the restored copy" and restore["phase_at"]
    # A finished step no longer says it is in a phase.
    StepRun.objects.filter(pk=step.pk).update(state=StepState.SUCCEEDED, finished_at=timezone.now())
    page = client.get(reverse("runs:detail", args=[run.public_id]), headers={"HX-Request": "true"}).content.decode()
    assert "swapping in the restored copy" not in page


def test_a_recovery_into_a_target_holding_data_is_refused_before_the_vault_is_read(
    flags: Asset,  # noqa: F811
    commander,
) -> None:
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags)), mode="recovery", by=commander))
    restore = run.steps.get(key="restore")
    assert restore.error_code == "connector_target_not_empty"
    assert "already holds tables; restore there only with replace" in restore.error
    # Nothing was read back from the vault (a read counts every byte it restores).
    assert restore.bytes_total and restore.bytes_done == 0


def test_a_drill_into_a_full_target_says_to_empty_it_or_choose_another(
    flags: Asset,  # noqa: F811
    commander,
    settings,
) -> None:
    kept = settings.VAR_DIR / "drills" / "kept" / "flags.sqlite3"
    kept.parent.mkdir(parents=True)
    with sqlite3.connect(kept) as db:
        db.execute("CREATE TABLE mine (x)")
    plan = make_plan(_restore_and_verify(flags, target_config={"path": str(kept)}))
    run = drive(start_run(plan=plan, mode="drill", by=commander))
    restore = run.steps.get(key="restore")
    assert restore.error_code == "connector_target_not_empty"
    assert "only with replace" not in restore.error
    assert f"The database {kept} already holds tables. A drill never writes over data" in restore.error
    assert f"empty the drill target (SQLite {kept}) or name another one" in restore.error
    assert kept.exists() and _rows(kept, "mine") == 0, "the drill left the target's own data alone"


def test_a_replace_says_on_the_run_page_that_the_old_content_was_swapped_out_once_checked(
    flags: Asset,  # noqa: F811
    commander,
    client: Client,
) -> None:
    source = flags.connector_config["path"]
    with sqlite3.connect(source) as db:
        db.execute("DELETE FROM flag WHERE rowid % 2 = 0")
    run = drive(start_run(plan=make_plan(_restore_and_verify(flags, replace=True)), mode="recovery", by=commander))
    assert run.status == "succeeded", run.error
    assert _rows(source) == 1500
    sentence = run.steps.get(key="restore").evidence["replaced"]
    assert sentence.startswith(f"Replaced what SQLite {source} held.")
    assert "stayed in place until the restored copy had been checked" in sentence
    client.force_login(commander)
    assert (
        "the old content stayed in place"
        in client.get(reverse("runs:detail", args=[run.public_id])).content.decode().lower()
    )


def test_a_replace_into_an_empty_target_does_not_claim_it_replaced_anything(
    tmp_path: Path,
    connector_asset: Callable[..., Asset],  # noqa: F811
    commander,
) -> None:
    asset = connector_asset(
        "flags-db", "sqlite", demo_connectors.flags_database(tmp_path / "systems" / "flags.sqlite3")
    )
    Path(asset.connector_config["path"]).unlink()
    run = drive(start_run(plan=make_plan(_restore_and_verify(asset, replace=True)), mode="recovery", by=commander))
    assert run.status == "succeeded", run.error
    assert "replaced" not in run.steps.get(key="restore").evidence
