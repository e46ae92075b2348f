"""The demo's worked breach: a closed PHI and personal-data incident whose report a compliance officer can file.

Everything goes through the same services a person uses (facts, roles, the
three assessments, the notification register, the review, sign-offs), so the
report, the GDPR JSON and the HHS CSV read real records and real audit events.
`incidents_demo` calls `worked_incident_create()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dr_portal.accounts.models import GdprRole, HipaaRole, User
from dr_portal.accounts.selectors import organisation_profile
from dr_portal.accounts.services import organisation_update
from incidents.compliance.models import RecipientKind
from incidents.compliance.notices import notification_record
from incidents.compliance.signoffs import signoff_record
from incidents.demo_recovery import recovery_run_demo
from incidents.models import Incident
from incidents.services import (
    action_item_add,
    incident_declare,
    incident_transition,
    incident_update_facts,
    note_add,
    review_save,
    review_sign_off,
    role_assign,
)
from incidents.services.assessments import assessment_answer
from inventory.models import Asset

TITLE = "Clinical notes adapter returned another clinic's notes"

PROFILE = {
    "legal_name": "Northwind Health Analytics Ltd",
    "registration_numbers": "Companies House 09876543; ICO ZA123456; US EIN 98-7654321",
    "postal_address": "1 Harbour Street, Dublin D02 XY45, Ireland",
    "gdpr_role": GdprRole.CONTROLLER,
    "hipaa_role": HipaaRole.COVERED_ENTITY,
    "dpo_name": "Aoife Byrne",
    "dpo_email": "dpo@northwind.example",
    "dpo_phone": "+353 1 555 0100",
    "security_officer_name": "Marcus Lee",
    "security_officer_email": "security@northwind.example",
    "security_officer_phone": "+1 617 555 0199",
    "privacy_officer_name": "Dana Ortiz",
    "privacy_officer_email": "privacy@northwind.example",
    "public_contact": "Toll-free 1-800-555-0123; privacy@northwind.example; northwind.example/notice; "
    "1 Harbour Street, Dublin D02 XY45",
    "lead_supervisory_authority": "Data Protection Commission (Ireland)",
}

WHY = "Established from the adapter's request logs and the clinics' confirmation; see the pinned notes."

ANSWERS: dict[str, object] = {
    "gdpr.personal_data": "yes",
    "gdpr.subject_categories": "patients of two partner clinics",
    "gdpr.subjects_approx": 640,
    "gdpr.record_categories": "clinical note summaries (health data, Art. 9)",
    "gdpr.records_approx": 1910,
    "gdpr.nature": "confidentiality",
    "gdpr.cause": "accidental",
    "gdpr.vector": "A cache key without the clinic id let the adapter serve one clinic's summaries to another.",
    "gdpr.consequences": "Clinicians at one clinic could read summaries of another clinic's patients: loss of "
    "confidentiality of health data; no sign of onward disclosure.",
    "gdpr.measures_taken": "Cache disabled, adapter rolled back, cache keys scoped by clinic, logs preserved.",
    "gdpr.measures_individuals": "Patients are told what was seen, by whom, and whom to call; no action is needed "
    "from them beyond reporting anything unusual.",
    "gdpr.risk": "high",
    "gdpr.art34": "notify",
    "gdpr.member_states": "IE, FR",
    "gdpr.lead_sa": "Data Protection Commission (Ireland)",
    "gdpr.phased": "no",
    "hipaa.phi": "yes",
    "hipaa.phi_types": "name, date of birth, diagnosis, medication",
    "hipaa.factor_1": "Clinical summaries with names and diagnoses: sensitive and identifying.",
    "hipaa.factor_2": "Clinicians of another covered clinic, bound by confidentiality.",
    "hipaa.factor_3": "Yes: request logs show 212 summaries displayed.",
    "hipaa.factor_4": "Recipients attested deletion; access removed within 3 hours.",
    "hipaa.outcome": "breach",
    "hipaa.breach_type": "unauthorized",
    "hipaa.location": "network server",
    "hipaa.safeguards": "encryption at rest and in transit, role-based access, audit logging",
    "hipaa.by_state": "MA=520; NY=120",
    "ai_act.serious": "yes",
    "ai_act.category": "other",
    "ai_act.system": "clinical-llm-adapter (clinical notes summarisation)",
    "ai_act.evidence_preserved": "Adapter weights and request logs copied to the WORM vault before the rollback.",
}

# Facts of the response no other record holds (the "response" assessment); times and run facts are added below.
RESPONSE: dict[str, object] = {
    "response.other_obligations": "Partner-clinic data-sharing agreements: notice within 48 h (given at 30 h); "
    "Massachusetts M.G.L. c. 93H: notice to the Attorney General and OCABR with the individuals' letters; "
    "NIS2: out of scope (Legal: not an entity of Annex I or II).",
    "response.backups_affected": "no",
    "response.transfers": "None: the adapter, the endpoint and their vault copies stay in eu-west-1; no data "
    "left the EEA.",
    "response.consequences_org": "Filings in Ireland and the US, a likely OCR inquiry, strained trust with two "
    "partner clinics, and a cyber-insurance claim.",
    "response.consequences_ai": "Clinicians read summaries of other clinics' patients; both clinics confirmed none "
    "was used for care. No fundamental-rights impact beyond the loss of confidentiality.",
    "response.steps_individuals": "Watch for unexpected contact about your care and report it; call 1-800-555-0123 "
    "with questions. No password or account change is needed.",
    "response.break_glass": "used",
    "response.emergency_mode": "activated",
    "response.legal_hold": "hold",
    "response.law_enforcement": "none",
    "response.law_enforcement_details": "not applicable — no law-enforcement official asked for a delay",
}
# Revisions the incident triggered; "{on}" is the day they were approved (the day of the rebuild).
REVISIONS = {
    "response.plan_revisions": "Clinical notes runbook v4 ({on}): a cache purge and a cross-tenant check before "
    "re-enabling summaries; incident-response plan v7 ({on}): break-glass use reviewed within 24 h. Both approved "
    "by the incident commander.",
    "response.risk_analysis": "Risk analysis revision 2026-R3 ({on}): new risk “cross-tenant cache leakage” rated "
    "high, treated by the tenant-scoped keys; criticality analysis ({on}): clinical-llm-adapter stays tier 0, its "
    "cache added as a dependency.",
}
RESPONSE_WHY = {
    "response.backups_affected": "The vault copies live in a separate account the adapter cannot write; their "
    "manifests verified on restore.",
    "response.break_glass": "The cache could not be disabled with standing roles during the change freeze.",
    "response.emergency_mode": "Summaries were switched off and clinicians worked from the manual coding queue.",
    "response.legal_hold": "Counsel placed a hold pending the likely OCR inquiry: these records outlive their "
    "retention date until Legal lifts it.",
    "response.law_enforcement": "The breach was accidental; no law-enforcement agency was involved.",
}

ROLES = (
    ("deputy", "admin"),
    ("scribe", "oncall2"),
    ("comms_lead", "oncall"),
    ("ops_lead", "oncall"),
    ("compliance_liaison", "compliance"),
    ("security_officer", "admin"),
    ("legal", "compliance"),
    ("ai_owner", "oncall2"),
)


def _profile(by: User) -> None:
    profile = organisation_profile()
    if not profile.legal_name:
        organisation_update(changes=PROFILE, by=by)


def _notices(incident: Incident, by: User, aware: datetime) -> None:
    def notice(kind: str, recipient: str, channel: str, after: timedelta, **extra: Any) -> None:
        notification_record(
            incident=incident, by=by, kind=kind, recipient=recipient, channel=channel, sent_at=aware + after, **extra
        )

    notice(
        RecipientKind.AUTHORITY,
        "Data Protection Commission (Ireland)",
        "DPC breach portal",
        timedelta(hours=30),
        reference="DPC-BN-2026-0917",
        summary="Art. 33 notification: nature, numbers, DPO contact, measures.",
    )
    notice(
        RecipientKind.INDIVIDUALS,
        "Affected patients",
        "first-class mail",
        timedelta(days=4),
        count_notified=640,
        reference="letter template PN-7",
        summary="What happened, what was seen, what we did, whom to call.",
    )
    notice(
        RecipientKind.MEDIA,
        "Boston Globe",
        "press release",
        timedelta(days=5),
        reference="PR-2026-11",
        summary="Media notice: more than 500 residents of Massachusetts were affected (§164.406).",
    )
    notice(
        RecipientKind.HHS,
        "HHS Office for Civil Rights",
        "OCR breach portal",
        timedelta(days=5),
        count_notified=640,
        reference="OCR-2026-44812",
        summary="Breach affecting 500 or more individuals.",
    )
    notice(
        RecipientKind.AI_AUTHORITY,
        "Market surveillance authority (IE)",
        "email",
        timedelta(days=6),
        reference="MSA-IE-311",
        summary="Art. 73 report: an infringement of obligations protecting fundamental rights (Art. 3(49)(c)).",
    )
    notice(
        RecipientKind.OTHER,
        "Cyber insurer (policy CY-2231)",
        "insurer portal",
        timedelta(days=1),
        reference="CLAIM-5521",
        summary="Incident notice under the policy's 72-hour clause.",
    )


def _sign(incident: Incident, signer: User, duty: str) -> None:
    """Sign with a second factor proven by a real one-time code; the device lasts only for the signature."""
    device = TOTPDevice.objects.create(user=signer, name="demo signing", confirmed=True)
    try:
        code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
        if not device.verify_token(f"{code:0{device.digits}d}"):
            raise RuntimeError("the demo's one-time code did not verify")
        signer.otp_device = device  # type: ignore[attr-defined]  # as django-otp's middleware does
        signer.is_verified = lambda: True  # type: ignore[attr-defined]
        signoff_record(incident=incident, by=signer, duty=duty, decision="signed")
    finally:
        device.delete()


def _response(incident: Incident, people: dict[str, User], started: datetime) -> None:
    """The response record, then the rebuild from the vault: a real run, whose point the record then cites."""
    at = started.strftime("%Y-%m-%d")
    details = {
        "response.break_glass_details": f"oncall (ops lead) used bg-clinical-ops on {at} from "
        f"{(started + timedelta(hours=2, minutes=30)):%H:%M} to {(started + timedelta(hours=3, minutes=10)):%H:%M} "
        "UTC to disable the cache on every replica; revoked by the security officer, use reviewed the next day.",
        "response.emergency_details": f"activated {(started + timedelta(hours=3)):%Y-%m-%d %H:%M}, deactivated "
        f"{(started + timedelta(hours=8)):%Y-%m-%d %H:%M} UTC: summaries off, notes coded by hand; ePHI stayed "
        "behind role-based access and audit logging, no copies outside the record system.",
    }
    assessment_answer(
        incident=incident,
        answers={**RESPONSE, **details},
        rationale=RESPONSE_WHY,
        by=people["compliance"],
    )
    run = recovery_run_demo(
        incident=incident,
        assets=list(incident.assets.all()),
        operator=people["oncall"],
        approvers=[people["commander"], people["admin"]],
    )
    restores = [s for s in run.steps.select_related("point__vault", "asset") if s.kind == "restore" and s.point]
    # The AI system is the adapter (a model); its restored copy is what the rollback went back to.
    step = next((s for s in restores if s.asset and s.asset.kind == "model"), restores[0])
    point, asset = step.point, step.asset
    assert point is not None and asset is not None
    kept = f"Object Lock until {point.immutable_until:%Y-%m-%d}" if point.immutable_until else "no object lock"
    assessment_answer(
        incident=incident,
        answers={
            "response.ai_rollback": f"{asset.name}: the copy in recovery point {point.public_id} "
            f"(manifest SHA-256 {point.manifest_sha256[:16]}…), restored by {run.reference}",
            "response.ai_validation": "Offline evaluation on 200 held-out notes per clinic: summary accuracy 0.94 "
            "before the incident, 0.94 after the rebuild; zero cross-clinic outputs in 1,000 probes.",
            **{key: text.format(on=f"{timezone.now():%Y-%m-%d}") for key, text in REVISIONS.items()},
            "response.evidence_location": f"vault {point.vault.name} ({kept}): recovery point {point.public_id}, "
            f"manifest SHA-256 {point.manifest_sha256}",
        },
        rationale={},
        by=people["compliance"],
    )


@transaction.atomic
def worked_incident_create(people: dict[str, User], assets: list[Asset]) -> Incident:
    """Create the worked breach, closed, every assessment decided, every notice given and every sign-off present."""
    commander, compliance = people["commander"], people["compliance"]
    _profile(people["admin"])
    now = timezone.now()
    started = now - timedelta(days=9)
    incident = incident_declare(
        title=TITLE,
        category="confidentiality",
        assets=assets,
        by=commander,
        commander=commander,
        started_at=started,
        summary="For 3 hours a response cache served clinical summaries across two "
        "clinics; 212 summaries of 640 patients were displayed to the wrong clinic.",
    )
    for role, username in ROLES:
        role_assign(incident=incident, role=role, user=people[username], by=commander)
    aware = started + timedelta(hours=5)
    incident_update_facts(
        incident=incident,
        by=compliance,
        changes={
            "detected_at": started + timedelta(hours=2),
            "aware_at": aware,
            "discovered_at": aware,
            "ai_aware_at": aware,
            "contained_at": started + timedelta(hours=3),
            "restored_at": started + timedelta(hours=8),
            "personal_data": True,
            "special_categories": True,
            "phi": True,
            "data_encrypted": False,
            "ai_serious": True,
            "subject_categories": ANSWERS["gdpr.subject_categories"],
            "subjects_approx": 640,
            "record_categories": ANSWERS["gdpr.record_categories"],
            "records_approx": 1910,
        },
    )
    assessment_answer(
        incident=incident,
        answers={
            **ANSWERS,
            "gdpr.started_at": started.isoformat(),
            "gdpr.ended_at": (started + timedelta(hours=3)).isoformat(),
            "hipaa.notice_individuals_at": (aware + timedelta(days=4)).isoformat(),
            "hipaa.notice_media_at": (aware + timedelta(days=5)).isoformat(),
            "hipaa.notice_hhs_at": (aware + timedelta(days=5)).isoformat(),
        },
        rationale=dict.fromkeys(ANSWERS, WHY),
        by=compliance,
    )
    note_add(
        incident=incident, body="Cache disabled on all adapter replicas; cross-clinic responses stopped.", by=commander
    )
    _notices(incident, compliance, aware)
    _response(incident, people, started)
    action_item_add(
        incident=incident,
        title="Scope every cache key by tenant and add a cross-tenant test",
        kind="preventive",
        owner=commander,
        by=commander,
        due_on=(now + timedelta(days=21)).date(),
    )
    for to in ("investigating", "mitigating", "recovering", "resolved"):
        incident_transition(incident=incident, to=to, by=commander)
    review_save(
        incident=incident,
        by=commander,
        changes={
            "root_cause": "Cache keys omitted the clinic id after a refactor of the adapter's request path.",
            "contributing_factors": "No cross-tenant test; the refactor was reviewed as a performance change only.",
            "went_well": "Detection within 2 hours by a clinician's report; containment within 1 hour of it.",
            "went_badly": "The cache had no tenant dimension in its metrics, so scope took a day to confirm.",
        },
    )
    review_sign_off(incident=incident, by=commander)
    incident = incident_transition(incident=incident, to="closed", by=commander)
    _sign(incident, User.objects.get(pk=commander.pk), "incident_commander")
    _sign(incident, User.objects.get(pk=compliance.pk), "compliance_officer")
    return incident
