"""Item 5: the incident report takes restoration evidence from the recovery runs — service restored, failovers
with their approvers and the two-person rule, integrity checks — and never prints "immutable until" for a vault
that cannot lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.pdf.document import Control, ReportDocument
from incidents.assessments import CurrentAnswer, incident_assessment
from incidents.models import Incident
from incidents.reports.restoration import restoration_section
from incidents.runs.models import Approval
from incidents.selectors import incident_assets
from incidents.services import incident_declare
from tests.factories import AssetFactory, RecoveryPointFactory, RecoveryRunFactory, StepRunFactory, VaultFactory

pytestmark = pytest.mark.django_db


def _answers(incident: Incident) -> dict[str, CurrentAnswer]:
    return {a.question.key: a for a in incident_assessment(incident=incident)}


def _doc() -> ReportDocument:
    control = Control(
        report_id="RPT-T", kind="incident", title="t", subtitle="s", version=1, status="draft",
        generated_at=timezone.now(), generated_by="t", generated_by_id=None, classification="c", distribution="d",
        retention_until="2033-01-01", legal_hold=None,
    )  # fmt: skip
    return ReportDocument(control=control, sections=[])


def test_a_run_with_two_approvals_fills_restored_failovers_and_the_two_person_rule(
    commander: User, oncall: User, oncall2: User
) -> None:
    now = timezone.now()
    plain = VaultFactory.create(worm_capable=False)
    asset = AssetFactory.create(name="scoring", vault=plain)
    RecoveryPointFactory.create(asset=asset, vault=plain, data_as_of=now - timedelta(hours=5),
                                immutable_until=now + timedelta(days=30))  # fmt: skip
    incident = incident_declare(title="Region down", category="availability", assets=[asset], by=commander,
                                commander=commander, started_at=now - timedelta(hours=3))  # fmt: skip
    run = RecoveryRunFactory.create(incident=incident, mode="recovery", outage_started_at=now - timedelta(hours=3),
                                    service_verified_at=now - timedelta(hours=1))  # fmt: skip
    step = StepRunFactory.create(run=run, kind="failover", asset=asset, title="Switch to the alternate",
                                 approval_quorum=2, approval_requested_by=commander,
                                 approval_requested_at=now - timedelta(hours=2), state="succeeded",
                                 finished_at=now - timedelta(minutes=100))  # fmt: skip
    for approver, minutes in ((oncall, 115), (oncall2, 110)):
        Approval.objects.create(step=step, approver=approver, decision="approve", comment="ok", round=1,
                                digest="0" * 64, created_at=now - timedelta(minutes=minutes),
                                expires_at=now)  # fmt: skip
    StepRunFactory.create(run=run, kind="restore", asset=asset, state="succeeded", evidence={"files_verified": 12})
    section = restoration_section(incident, incident_assets(incident=incident), _doc(), _answers(incident), [])
    fields = {f.key: f for f in section.fields}
    assert fields["service_restored"].value is not None and "recovery run" in fields["service_restored"].note
    assert fields["incident_rto"].value == "2h 00m"
    assert fields["failovers"].value == "1 switch step(s); two-person rule satisfied on 1 of 1"
    tables = {t.key: t for t in section.tables}
    (row,) = tables["failovers"].rows
    assert (
        row[3] == commander.username
        and row[5] == ", ".join(sorted([oncall.username, oncall2.username]))
        and row[6] == "yes"
    )
    assert tables["integrity"].rows[0][4] == 12
    restore_row = tables["restore"].rows[0]
    assert restore_row[7] == "not applicable — the vault cannot lock"


def test_an_approver_who_also_asked_breaks_the_two_person_rule(commander: User) -> None:
    incident = incident_declare(title="Switch", category="availability", assets=[], by=commander, commander=commander)
    run = RecoveryRunFactory.create(incident=incident)
    step = StepRunFactory.create(run=run, kind="failover", approval_quorum=1, approval_requested_by=commander,
                                 approval_requested_at=timezone.now())  # fmt: skip
    Approval.objects.create(step=step, approver=commander, decision="approve", comment="mine", round=1,
                            digest="0" * 64, expires_at=timezone.now())  # fmt: skip
    section = restoration_section(incident, [], _doc(), _answers(incident), [])
    assert {t.key: t for t in section.tables}["failovers"].rows[0][6] == "no"


def test_the_restore_table_cites_the_point_a_verified_run_restored(commander: User) -> None:
    """A backup taken after the incident started is not one a restore "would use" at the start, but when a run
    restored from it, it is the backup the restore used: its id, its data and the run's RTO are printed."""
    vault = VaultFactory.create(config={"path": "unused"})
    asset = AssetFactory.create(name="restored-asset", vault=vault)
    incident = incident_declare(title="Rebuild", category="availability", assets=[asset], by=commander,
                                commander=commander, started_at=timezone.now() - timedelta(days=2))  # fmt: skip
    now = timezone.now()
    point = RecoveryPointFactory.create(asset=asset, vault=vault, data_as_of=now - timedelta(minutes=30))
    run = RecoveryRunFactory.create(incident=incident, outage_started_at=now - timedelta(minutes=20),
                                    service_verified_at=now, achieved_rto_seconds=1200)  # fmt: skip
    run.assets.add(asset)
    StepRunFactory.create(run=run, kind="restore", asset=asset, point=point, state="succeeded", finished_at=now)
    section = restoration_section(incident, incident_assets(incident=incident), _doc(), _answers(incident), [])
    row = {t.key: t for t in section.tables}["restore"].rows[0]
    assert row[4] == str(point.public_id) and row[6] == "10m" and row[9] == run.reference
    fields = {f.key: f.value for f in section.fields}
    assert fields["nprm_48h"] == "no — no good backup of an affected asset was taken before the incident started"


@pytest.mark.parametrize(
    ("evidence", "files"),
    [({"files_total": 3, "files_restored": 0, "files_already_present": 3, "all_hashes_verified": True}, 3),
     ({"files_total": 3, "files_restored": 3, "all_hashes_verified": False}, None),
     ({"files_checked": 5}, 5), ({}, None)],
)  # fmt: skip
def test_files_checked_counts_what_a_restore_or_verify_step_checked(evidence: dict[str, object], files: int) -> None:
    """A restore that found its files already present still checked each one: the count is not "0 restored"."""
    from incidents.reports.run_evidence import files_checked
    from incidents.runs.models import StepRun

    assert files_checked(StepRun(evidence=evidence)) == files
