"""Item 8: the dashboard draws SVG charts, and says so plainly when there is nothing measured."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import BackupStatus
from tests.factories import AssetFactory, BackupFactory, IncidentFactory, RecoveryRunFactory

pytestmark = pytest.mark.django_db


def test_empty_charts_say_nothing_was_measured(client_for, commander) -> None:
    html = client_for(commander).get(reverse("dashboard")).content.decode()
    assert "RTO and RPO are not measured, which is not the same as met." in html
    assert "no success rate to report" in html


def test_incidents_and_backups_are_drawn_as_svg(client_for, commander) -> None:
    incident = IncidentFactory.create(kind="real", severity="SEV1")
    incident.restored_at = incident.declared_at + timedelta(hours=2)
    incident.save()
    asset = AssetFactory.create(owner_team="ml-platform")
    BackupFactory.create(asset=asset, status=BackupStatus.SUCCEEDED)
    BackupFactory.create(asset=asset, status=BackupStatus.FAILED, error="vault full")
    html = client_for(commander).get(reverse("dashboard")).content.decode()
    charts = html[html.index('id="charts"') : html.index('id="drills"')]
    assert charts.count("<svg") == 4  # each drawn wide and narrow
    assert f"{timezone.now():%Y-%m} (1 SEV1)" in charts and "MTTR 2h 00m" in charts
    assert "ml-platform" in charts and "1 of 2" in charts


SVG = "{http://www.w3.org/2000/svg}"


def test_every_dashboard_chart_is_drawn_wide_and_narrow_and_described(client_for, commander) -> None:
    """A phone gets a narrower frame (its text drawn larger than the wide copy scaled down) with the same words."""
    run = RecoveryRunFactory.create(
        status="succeeded",
        finished_at=timezone.now(),
        rto_target_seconds=3600,
        achieved_rto_seconds=5400,
        rpo_target_seconds=600,
        achieved_rpo_seconds=None,
    )
    IncidentFactory.create(kind="real", severity="SEV2")
    BackupFactory.create(asset=AssetFactory.create(owner_team="payments"), status=BackupStatus.SUCCEEDED)
    html = client_for(commander).get(reverse("dashboard")).content.decode()
    charts = html[html.index('id="charts"') : html.index('id="drills"')]
    svgs = [ElementTree.fromstring(s) for s in re.findall(r"<svg .*?</svg>", charts, flags=re.S)]  # noqa: S314
    by_title: dict[str, list[ElementTree.Element]] = {}
    for svg in svgs:
        by_title.setdefault(svg.findtext(f"{SVG}title") or "", []).append(svg)
    assert sorted(by_title) == [
        "Backup success rate, last 30 days (%)",
        "Mean time to restore per month, with incidents by severity",
        "Recovery runs: RTO and RPO achieved as a share of target",
    ]
    for title, pair in by_title.items():
        assert [s.get("class") for s in pair] == ["chart chart-wide", "chart chart-narrow"], title
        widths = [int((s.get("viewBox") or "").split()[2]) for s in pair]
        assert widths[1] <= 400 < widths[0], title
        assert pair[0].findtext(f"{SVG}desc") == pair[1].findtext(f"{SVG}desc") != "", title
    recovery = by_title["Recovery runs: RTO and RPO achieved as a share of target"][0].findtext(f"{SVG}desc")
    assert recovery == f"{run.reference} RTO: 1h 30m against 1h 00m (150 %); {run.reference} RPO: not measured."


def test_a_restore_recorded_before_the_declaration_is_not_a_negative_mttr(client_for, commander) -> None:
    odd = IncidentFactory.create(kind="real", severity="SEV1")
    odd.restored_at = odd.declared_at - timedelta(days=4)
    odd.save()
    html = client_for(commander).get(reverse("dashboard")).content.decode()
    charts = html[html.index('id="charts"') : html.index('id="drills"')]
    assert "MTTR not measured" in charts and "MTTR -" not in charts


def _incident_svgs(html: str) -> list[ElementTree.Element]:
    charts = html[html.index('id="charts"') : html.index('id="drills"')]
    svgs = [ElementTree.fromstring(s) for s in re.findall(r"<svg .*?</svg>", charts, flags=re.S)]  # noqa: S314
    return [s for s in svgs if (s.findtext(f"{SVG}title") or "").startswith("Mean time to restore")]


def test_open_incidents_draw_no_mttr_bar_and_say_not_measured(client_for, commander) -> None:
    """Incidents still open (and a restore stamped at the declaration itself) are no time to restore: no bar, words."""
    IncidentFactory.create(kind="real", severity="SEV1")
    IncidentFactory.create(kind="real", severity="SEV1")
    instant = IncidentFactory.create(kind="real", severity="SEV2")
    instant.restored_at = instant.declared_at
    instant.save()
    svgs = _incident_svgs(client_for(commander).get(reverse("dashboard")).content.decode())
    assert len(svgs) == 2  # wide and narrow
    for svg in svgs:
        assert svg.findall(f".//{SVG}rect") == [], "a bar drawn for a time to restore nobody measured"
        said = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "unmeasured"]
        assert said == ["— MTTR not measured"]
        assert "0s" not in ElementTree.tostring(svg, encoding="unicode")
        assert svg.findtext(f"{SVG}desc") == f"{timezone.now():%Y-%m} (2 SEV1, 1 SEV2): 3 incidents, MTTR not measured."


def test_the_bar_is_the_mean_time_to_restore_of_the_restored_incidents(client_for, commander) -> None:
    for hours in (1, 3):
        restored = IncidentFactory.create(kind="real", severity="SEV2")
        restored.restored_at = restored.declared_at + timedelta(hours=hours)
        restored.save()
    IncidentFactory.create(kind="real", severity="SEV2")  # still open: not a sample
    wide = _incident_svgs(client_for(commander).get(reverse("dashboard")).content.decode())[0]
    assert len(wide.findall(f".//{SVG}rect")) == 1
    assert "MTTR 2h 00m" in ElementTree.tostring(wide, encoding="unicode")
