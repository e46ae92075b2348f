"""A suspicious point raises an alert on its asset through the alert intake (#13 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidents.models import AlertRecord, Incident
from incidents.tasks import point_suspicious_alert_task
from inventory.models import PointStatus
from tests.inventory.test_screening import back_up, encrypt_in_place, estate  # noqa: F401 - estate is a fixture

pytestmark = pytest.mark.django_db


def test_a_suspicious_point_sends_one_alert_that_opens_an_incident_on_its_asset(
    estate,  # noqa: F811 - the fixture imported above
    source: Path,
    broker_queue,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        clean = back_up(estate)
    assert clean.status == PointStatus.OK
    assert [name for name, _args in broker_queue.sent() if name == "incidents.point_suspicious_alert"] == []

    encrypt_in_place(source)
    with django_capture_on_commit_callbacks(execute=True):
        attacked = back_up(estate)
    assert attacked.status == PointStatus.SUSPICIOUS
    assert ("incidents.point_suspicious_alert", [attacked.pk]) in broker_queue.sent()

    line = point_suspicious_alert_task(attacked.pk)  # the task body, as a worker runs it

    incident = Incident.objects.get()
    assert incident.reference in line
    assert list(incident.assets.all()) == [estate]
    alert = AlertRecord.objects.get(incident=incident)
    assert alert.name == "RecoveryPointSuspicious" and alert.labels["point"] == str(attacked.public_id)
    # Said in words; which files looked encrypted is in the point's screening, shown to restorers only.
    description = alert.annotations["description"]
    assert "encrypted in place" in description and "features.parquet" not in description
    # Delivered twice (a redelivered message): one alert, counted twice, still one incident.
    point_suspicious_alert_task(attacked.pk)
    assert Incident.objects.count() == 1 and AlertRecord.objects.get().times_seen == 2


def test_no_alert_for_a_point_released_before_the_message_arrived(estate, source: Path, commander) -> None:  # noqa: F811
    from inventory.services import point_release

    back_up(estate)
    encrypt_in_place(source)
    attacked = back_up(estate)
    point_release(point_id=attacked.pk, by=commander, reason="checked with the owners: planned re-encryption")

    assert "not suspicious" in point_suspicious_alert_task(attacked.pk)
    assert not Incident.objects.exists()
