"""Load demo incidents: one busy incident opened by an alert (200+ timeline entries), a drill, a closed one, and
the worked breach whose report is complete (incidents/demo_worked.py).

Safe to run again: it does nothing once a demo incident exists. Needs the
people from `demo_setup` and the estate from `inventory_demo`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dr_portal.accounts.models import User
from incidents.demo_worked import worked_incident_create
from incidents.intake import InboundAlert, InboundBatch
from incidents.models import Incident
from incidents.services import (
    action_item_add,
    alerts_ingest,
    drill_outcome_record,
    drill_start,
    incident_declare,
    incident_transition,
    incident_update_facts,
    note_add,
    pin_set,
    review_save,
    review_sign_off,
    role_assign,
)
from incidents.services.inbox import portal_asset_ensure
from inventory.models import Asset

WORKED_ASSETS = ("clinical-inference-eu", "clinical-llm-adapter")
# How long before the load INC-1's outage began: a run started on it from the demo measures its RTO from
# there, so this must read like a live outage (minutes, not days) against the asset's RTO target.
OUTAGE_AGE = timedelta(minutes=10)
GROUP_KEY = 'demo:{}:{alertname="ModelErrorRate"}'
UPDATES = [
    "Error rate on the scoring endpoint at {n} %; still climbing.",
    "Checked the feature pipeline run {n}: row counts normal.",
    "Rolled {n} pods to the previous image; errors unchanged.",
    "Customer support reports {n} complaints about declined payments.",
    "Vector index replica {n} lagging; not the cause.",
    "Compared model outputs on {n} samples against the shadow model.",
]


class Command(BaseCommand):
    help = "Create demo incidents (a busy one from an alert, a drill, a closed one) if none exist."

    def handle(self, *args: Any, **options: Any) -> None:
        if Incident.objects.filter(alert_group_key=GROUP_KEY).exists():
            self.stdout.write("Demo incidents already exist.")
            return
        people = {
            u.username: u
            for u in User.objects.filter(username__in=["admin", "commander", "oncall", "oncall2", "compliance"])
        }
        assets = list(Asset.objects.order_by("tier", "name")[:3])
        clinical = list(Asset.objects.filter(name__in=WORKED_ASSETS).order_by("name"))
        if len(people) < 5 or not assets or len(clinical) < len(WORKED_ASSETS):
            raise CommandError("Run demo_setup and inventory_demo first.")
        busy = self._busy(people, assets[0])
        self._drill(people, assets[-1])
        self._closed(people, assets[1])
        self._inbox()
        worked = worked_incident_create(people, clinical)
        self.stdout.write(
            f"Demo incidents created; the busy one is {busy.reference}, the worked breach (report complete) "
            f"is {worked.reference}."
        )

    def _inbox(self) -> None:
        """The portal's own asset, and one alert about nothing in the inventory waiting for a commander."""
        portal_asset_ensure()
        labels = {"alertname": "DiskFillingUp", "severity": "warning", "service": "billing-etl", "team": "payments"}
        alert = InboundAlert("demo-fp-inbox", "firing", labels, {"summary": "billing-etl disk 91 % full",
                             "runbook_url": "https://runbooks.example.org/disk-full"},
                             timezone.now() - timedelta(minutes=20), None)  # fmt: skip
        alerts_ingest(batch=InboundBatch("alertmanager", "{}:demo-inbox", [alert], {}))

    def _busy(self, people: dict[str, User], asset: Asset) -> Incident:
        commander, oncall, oncall2, dpo = people["commander"], people["oncall"], people["oncall2"], people["compliance"]
        labels = {"alertname": "ModelErrorRate", "severity": "critical", "asset": asset.name}
        alert = InboundAlert("demo-fp-1", "firing", labels, {"summary": f"{asset.name} error rate above 5 %"},
                             timezone.now() - OUTAGE_AGE, None)  # fmt: skip
        result = alerts_ingest(batch=InboundBatch("alertmanager", GROUP_KEY, [alert], {}))
        assert result.incident is not None
        incident = result.incident
        role_assign(incident=incident, role="commander", user=commander, by=commander)
        role_assign(incident=incident, role="ops_lead", user=oncall, by=commander)
        role_assign(incident=incident, role="scribe", user=oncall2, by=commander)
        role_assign(incident=incident, role="compliance_liaison", user=dpo, by=commander)
        now = timezone.now()
        incident_update_facts(
            incident=incident,
            by=dpo,
            changes={
                "personal_data": True,
                "subject_categories": "card holders",
                "subjects_approx": 18_000,
                "record_categories": "transaction scores",
                "records_approx": 240_000,
                "aware_at": now - OUTAGE_AGE + timedelta(minutes=3),
                "ai_serious": True,
                "ai_aware_at": now - OUTAGE_AGE + timedelta(minutes=6),
            },
        )
        incident_transition(incident=incident, to="investigating", by=commander)
        first = None
        for n in range(200):
            author = (oncall, oncall2, commander)[n % 3]
            note = note_add(incident=incident, body=UPDATES[n % len(UPDATES)].format(n=n + 1), by=author)
            first = first or note
        assert first is not None and first.audit_seq is not None
        pin_set(incident=incident, seq=first.audit_seq, pinned=True, by=commander)
        incident_transition(incident=incident, to="mitigating", by=commander)
        action_item_add(
            incident=incident, title="Add an error-rate canary to the model rollout", kind="preventive",
            owner=commander, by=commander, due_on=(now + timedelta(days=14)).date(),
        )  # fmt: skip
        return incident

    def _drill(self, people: dict[str, User], asset: Asset) -> None:
        commander = people["commander"]
        drill = drill_start(assets=[asset], scenario="Restore from the newest good backup", by=commander,
                            commander=commander)  # fmt: skip
        incident_transition(incident=drill, to="investigating", by=commander)
        drill_outcome_record(
            incident=drill, asset=asset, outcome="passed", evidence="restored and verified", by=commander
        )
        incident_transition(incident=drill, to="resolved", by=commander)

    def _closed(self, people: dict[str, User], asset: Asset) -> None:
        commander = people["commander"]
        incident = incident_declare(title="Feature store latency", category="availability", assets=[asset],
                                    by=commander, commander=commander)  # fmt: skip
        for to in ("investigating", "mitigating", "resolved"):
            incident_transition(incident=incident, to=to, by=commander)
        review_save(incident=incident, changes={"root_cause": "A full disk on one node."}, by=commander)
        review_sign_off(incident=incident, by=commander)
        # Its asset holds personal data, so the assessments are mandatory before it may close.
        self._assess_no_breach(incident=incident, by=commander)
        incident_transition(incident=incident, to="closed", by=commander)

    @staticmethod
    def _assess_no_breach(*, incident: Incident, by: User) -> None:
        """A slow feature store lost, exposed and altered nothing: record that, with the reasons."""
        from incidents.compliance.obligations import obligations_settle

        obligations_settle(
            incident=incident,
            decisions={
                "gdpr": {"gdpr.personal_data": "no", "gdpr.risk": "unlikely", "gdpr.art34": "not_high_risk"},
                "hipaa": {"hipaa.phi": "no", "hipaa.outcome": "low_probability"},
            },
            why="Requests were slow, never refused; no data was read, changed or lost (access logs checked).",
            by=by,
        )
