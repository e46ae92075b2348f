"""Free-text fields have a bound: a 200,000-character review or summary is refused whole, with the field's
label in the message, on the pages and through the API alike (the API already bounded notices and notes).

Found by posting huge values into every form: the post-incident review, the incident summary (declare and
facts) and the notice's summary took any size and put it in the audit log too.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.accounts.services import token_issue
from incidents.models import Incident, Review
from tests.db_state import nothing_changes

pytestmark = pytest.mark.django_db

HUGE = "A" * 200_000


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user, name='t', mfa_verified=False).raw}")


def test_the_review_page_refuses_a_huge_root_cause_and_saves_nothing(client_for, commander, incident) -> None:
    client = client_for(commander)
    url = f"/incidents/{incident.public_id}/review/"
    with nothing_changes(incident):
        page = client.post(url, {"root_cause": HUGE, "went_well": "Fast rollback"})
    assert page.status_code == 200 and "at most 10000 characters" in page.content.decode()
    assert not Review.objects.exists()
    assert client.post(url, {"root_cause": "A bad feature push"}).status_code == 302
    assert Review.objects.get().root_cause == "A bad feature push"


def test_declaring_or_editing_with_a_huge_summary_is_refused(client_for, commander, incident) -> None:
    client = client_for(commander)
    with nothing_changes(incident):
        declared = client.post("/incidents/declare/", {"title": "Drift", "category": "drift", "summary": HUGE})
        assert declared.status_code == 200 and "at most 10000 characters" in declared.content.decode()
        facts = client.post(
            f"/incidents/{incident.public_id}/facts/", {"title": incident.title, "category": incident.category,
                                                        "summary": HUGE}, follow=True,
        )  # fmt: skip
        assert "at most 10000 characters" in facts.content.decode()
    assert Incident.objects.count() == 1


def test_the_api_refuses_a_huge_summary_or_review_with_a_400(commander, incident) -> None:
    client = api(commander)
    with nothing_changes(incident):
        declared = client.post(
            "/api/v1/incidents/",
            {"title": "Drift", "category": "drift", "summary": HUGE},
            content_type="application/json",
        )
        assert declared.status_code == 400 and "summary" in str(declared.json())
        review = client.post(
            f"/api/v1/incidents/{incident.public_id}/review/", {"root_cause": HUGE}, content_type="application/json"
        )
        assert review.status_code == 400 and "root_cause" in str(review.json())


def test_a_refused_notice_names_its_fields_as_the_form_labels_them(client_for, commander, incident) -> None:
    client = client_for(commander)
    url = f"/incidents/{incident.public_id}/notifications/"
    body = {"kind": "authority", "phase": "initial", "recipient": "CNIL", "channel": "portal",
            "sent_at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "summary": HUGE}  # fmt: skip
    with nothing_changes(incident):
        page = client.post(url, body, follow=True).content.decode()
        assert "Summary: Ensure this value has at most 4000 characters" in page
        page = client.post(url, {**body, "summary": "", "sent_at": "2026-02-30T10:00"}, follow=True).content.decode()
        assert "Sent (UTC): Enter a valid date/time." in page and "sent_at: " not in page


def test_a_refused_sign_off_says_what_was_wrong(client_for, commander, incident) -> None:
    client = client_for(commander, mfa=True)
    body = {"duty": "incident_commander", "decision": "refused", "reason": HUGE}
    with nothing_changes(incident):
        page = client.post(f"/incidents/{incident.public_id}/sign-offs/", body, follow=True).content.decode()
    assert "Reason: Ensure this value has at most 4000 characters" in page
