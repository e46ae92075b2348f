"""Item 8: the dashboard draws SVG charts, and says so plainly when there is nothing measured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import BackupStatus
from tests.factories import AssetFactory, BackupFactory, IncidentFactory

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
    assert charts.count("<svg") == 2
    assert f"{timezone.now():%Y-%m} (1 SEV1)" in charts and "MTTR 2h 00m" in charts
    assert "ml-platform" in charts and "1 of 2" in charts
