"""The old filings register folded into the notification register: every filing arrives, field for field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append
from incidents.clocks import ClockState
from incidents.compliance.models import Notification, RecipientKind
from incidents.models import Incident, Regime
from incidents.selectors import incident_board
from incidents.services import incident_declare, incident_update_facts

BEFORE = [("compliance", "0002_notification_regime")]


@pytest.fixture
def breach(commander: User) -> Incident:
    now = timezone.now()
    incident = incident_declare(title="Claims exposed", category="confidentiality", by=commander)
    return incident_update_facts(
        incident=incident,
        changes={
            "personal_data": True,
            "phi": True,
            "subjects_approx": 40,
            "aware_at": now - timedelta(days=2),
            "discovered_at": now - timedelta(days=2),
        },
        by=commander,
    )


@pytest.mark.django_db(transaction=True)
def test_every_filing_moves_into_the_notification_register(breach: Incident, commander: User) -> None:
    now = timezone.now()
    kept = Notification.objects.create(
        incident=breach, kind=RecipientKind.PROCESSOR_CONTROLLER, recipient="Acme Health", channel="email",
        sent_at=now - timedelta(days=1), recorded_by=commander,
    )  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    filing_model = old.get_model("incidents", "Filing")
    filings = {}
    for offset, (regime, channel) in enumerate(
        [
            (Regime.GDPR_33, "portal"),
            (Regime.GDPR_34, "email"),
            (Regime.HIPAA_INDIVIDUALS, "first-class mail"),
            (Regime.HIPAA_MEDIA, "press release"),
            (Regime.HIPAA_HHS, "OCR portal"),
            (Regime.AI_ACT, "portal"),
            (Regime.OTHER, ""),
        ]
    ):
        filings[regime] = filing_model.objects.create(
            incident_id=breach.pk,
            regime=regime,
            phase=["initial", "supplementary", "final"][offset % 3],
            recipient=f"recipient {regime}",
            channel=channel,
            reference=f"REF-{offset}",
            filed_at=now - timedelta(days=1, minutes=offset),
            summary=f"What was said under {regime}.",
            recorded_by_id=commander.pk,
            recorded_at=now - timedelta(hours=20, minutes=offset),
        )
    recorded = audit_append(
        action="incident.filing_recorded",
        actor=commander,
        object_type="incidents.filing",
        object_id=str(filings[Regime.GDPR_33].public_id),
        incident_id=breach.public_id,
        payload={"regime": Regime.GDPR_33},
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    with pytest.raises(LookupError):
        current_apps.get_model("incidents", "Filing")
    assert "incidents_filing" not in connection.introspection.table_names()
    moved = {n.public_id: n for n in Notification.objects.exclude(pk=kept.pk)}
    assert len(moved) == len(filings)
    kinds = {
        Regime.GDPR_33: RecipientKind.AUTHORITY, Regime.GDPR_34: RecipientKind.INDIVIDUALS,
        Regime.HIPAA_INDIVIDUALS: RecipientKind.INDIVIDUALS, Regime.HIPAA_MEDIA: RecipientKind.MEDIA,
        Regime.HIPAA_HHS: RecipientKind.HHS, Regime.AI_ACT: RecipientKind.AI_AUTHORITY,
        Regime.OTHER: RecipientKind.OTHER,
    }  # fmt: skip
    for regime, filing in filings.items():
        row = moved[filing.public_id]
        assert (row.incident_id, row.kind, row.regime, row.phase) == (breach.pk, kinds[regime], regime, filing.phase)
        assert (row.recipient, row.reference, row.summary) == (filing.recipient, filing.reference, filing.summary)
        assert row.channel == (filing.channel or "not recorded")
        assert row.sent_at == filing.filed_at
        assert (row.recorded_by_id, row.recorded_at) == (commander.pk, filing.recorded_at)
        assert row.count_notified is None and row.attachment_sha256 == ""
    assert moved[filings[Regime.GDPR_33].public_id].audit_seq == recorded.seq
    assert moved[filings[Regime.GDPR_34].public_id].audit_seq is None  # no event to point at
    assert Notification.objects.get(pk=kept.pk).regime == ""  # notices already in the register are untouched

    # Each moved notice stops the clock its filing stopped, and no other.
    assert moved[filings[Regime.GDPR_34].public_id].regimes == (Regime.GDPR_34,)
    assert moved[filings[Regime.OTHER].public_id].regimes == ()
    clocks = {c.regime: c.state for c in incident_board(incident=breach).clocks}
    assert clocks[Regime.GDPR_33] == ClockState.MET
    assert clocks[Regime.HIPAA_INDIVIDUALS] == ClockState.MET
    assert clocks[Regime.HIPAA_HHS] == ClockState.MET
