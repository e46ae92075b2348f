"""Item 7: the Audit page a compliance officer can use — pickers, INC-n, time ranges, verify now with progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dr_portal.audit.models import AuditVerification
from dr_portal.audit.tasks import audit_verify_requested
from incidents.services import note_add

pytestmark = pytest.mark.django_db


def test_incident_filter_takes_a_reference_and_rows_name_incidents(client_for, compliance, commander, sev1) -> None:
    note_add(incident=sev1, body="Found the cause", by=commander)
    client = client_for(compliance)
    html = client.get(reverse("audit:index"), {"incident": sev1.reference}).content.decode()
    assert f'<a href="?incident={sev1.reference}" title="{sev1.public_id}">{sev1.reference}</a>' in html
    assert "incident.note_added" in html
    wrong = client.get(reverse("audit:index"), {"incident": "INC-999"}).content.decode()
    assert "No incident INC-999: use a reference such as INC-12." in wrong


def test_pickers_offer_people_system_actors_actions_and_incidents(client_for, compliance, commander, sev1) -> None:
    note_add(incident=sev1, body="x", by=commander)
    html = client_for(compliance).get(reverse("audit:index")).content.decode()
    assert 'list="actor-options"' in html and 'list="action-options"' in html and 'list="incident-options"' in html
    assert f'<option value="{commander.username}">{commander.get_full_name()}</option>' in html
    assert '<option value="incident.">every action of this area</option>' in html
    assert f'<option value="{sev1.reference}">{sev1.title}</option>' in html
    assert "Last 24 h" in html and "since=" in html


def test_verify_now_shows_progress_until_the_check_is_recorded(
    client_for, compliance, django_capture_on_commit_callbacks
) -> None:
    client = client_for(compliance)
    with django_capture_on_commit_callbacks() as callbacks:
        body = client.post(reverse("audit:verify-now"), HTTP_HX_REQUEST="true").content.decode()
    assert len(callbacks) == 1, "the check goes to a worker through the queue, after the commit"
    assert "Verifying the chain" in body and 'hx-trigger="every 2s"' in body
    polling = client.get(reverse("audit:verify-status"), HTTP_HX_REQUEST="true").content.decode()
    assert "Verifying the chain" in polling
    outcome = audit_verify_requested()  # what the worker runs
    assert "intact" in outcome, AuditVerification.objects.get().problem
    done = client.get(reverse("audit:verify-status"), HTTP_HX_REQUEST="true").content.decode()
    assert "Chain intact." in done and "every 2s" not in done and "Verify now" in done
    assert AuditVerification.objects.get().source == "page"


def test_viewer_cannot_ask_for_a_verification(client_for, viewer) -> None:
    assert client_for(viewer).post(reverse("audit:verify-now")).status_code == 403
