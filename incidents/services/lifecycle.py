"""Declaring incidents, moving them through their states, their facts, assets and roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from dr_portal.accounts.access import has_role_perm
from dr_portal.accounts.models import Role, User
from incidents.access import ROLE_REQUIRES
from incidents.compliance.obligations import refuse_close_while_assessments_owed
from incidents.models import (
    ActionItem,
    ActionStatus,
    AssetSource,
    Category,
    DetectionSource,
    Incident,
    IncidentAsset,
    IncidentKind,
    IncidentRole,
    IncidentStatus,
    RoleAssignment,
    Severity,
)
from incidents.paging.trigger import page_on_commit, severity_page_on_commit
from incidents.services.common import IncidentRefused, lock, record, refuse_if_closed
from incidents.services.outbound import notify
from inventory.models import Asset, DataClass

SEVERITY_ORDER = [Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4]
TIER_SEVERITY = {0: Severity.SEV1, 1: Severity.SEV2, 2: Severity.SEV3, 3: Severity.SEV4}
SENSITIVE = {DataClass.SPECIAL, DataClass.PHI}
BREACH_CATEGORIES = {Category.CONFIDENTIALITY, Category.DATA_POISONING, Category.UNSAFE_OUTPUT}

# The facts a person may record after declaring: key times and data impact.
TIME_FIELDS = (
    "started_at",
    "detected_at",
    "aware_at",
    "discovered_at",
    "ai_aware_at",
    "contained_at",
    "restored_at",
)
IMPACT_FIELDS = (
    "personal_data",
    "subject_categories",
    "subjects_approx",
    "record_categories",
    "records_approx",
    "special_categories",
    "phi",
    "data_encrypted",
    "ai_serious",
    "ai_death",
    "ai_widespread",
    "ai_critical_infra",
)
FACT_FIELDS = frozenset({*TIME_FIELDS, *IMPACT_FIELDS, "title", "summary", "category"})
# Clocks run from recorded moments; one in the future is a typo, not a fact.
FUTURE_SLACK = timedelta(minutes=5)


def more_severe(a: str, b: str) -> bool:
    return SEVERITY_ORDER.index(Severity(a)) < SEVERITY_ORDER.index(Severity(b))


def severity_suggest(*, assets: Sequence[Asset], category: str) -> tuple[str, str]:
    """The severity the house rule gives, and the rule in words.

    The most critical affected tier sets it (tier 0 → SEV1 … tier 3 → SEV4);
    a breach-like category touching special-category data or PHI goes one higher.
    """
    if not assets:
        return Severity.SEV3, "Rule: no affected assets named yet → SEV3 until they are."
    top = min(assets, key=lambda a: a.tier)
    severity = TIER_SEVERITY[top.tier]
    rule = f"Rule: most critical affected asset {top.name} is tier {top.tier} → {severity}"
    sensitive = [a for a in assets if SENSITIVE & set(a.data_classes)]
    if category in BREACH_CATEGORIES and sensitive and severity != Severity.SEV1:
        severity = SEVERITY_ORDER[SEVERITY_ORDER.index(Severity(severity)) - 1]
        rule += f"; {Category(category).label.lower()} touching special-category data or PHI → raised to {severity}"
    return severity, rule + "."


def _link_assets(incident: Incident, assets: Iterable[Asset], source: str) -> list[Asset]:
    have = set(incident.asset_links.values_list("asset_id", flat=True))
    added = [a for a in assets if a.pk not in have]
    IncidentAsset.objects.bulk_create([IncidentAsset(incident=incident, asset=a, source=source) for a in added])
    return added


@transaction.atomic
def incident_declare(
    *,
    title: str,
    category: str,
    by: User | None,
    system_actor: str = "",
    kind: str = IncidentKind.REAL,
    severity: str | None = None,
    severity_rule: str = "",
    summary: str = "",
    assets: Sequence[Asset] = (),
    asset_source: str = AssetSource.DECLARED,
    source: str = DetectionSource.MANUAL,
    detected_at: datetime | None = None,
    started_at: datetime | None = None,
    alert_group_key: str = "",
    commander: User | None = None,
) -> Incident:
    """Open an incident (or a drill). Without a severity the house rule picks one and says so."""
    title = title.strip()
    if not title:
        raise IncidentRefused("Give the incident a title.")
    if category not in Category.values:
        raise IncidentRefused(f"Unknown category {category!r}.")
    if severity is None:
        severity, severity_rule = severity_suggest(assets=assets, category=category)
    elif severity not in Severity.values:
        raise IncidentRefused(f"Unknown severity {severity!r}; use SEV1 to SEV4.")
    elif not severity_rule:
        severity_rule = f"Set by hand by {by.username if by else system_actor or 'system'}."
    now = timezone.now()
    incident = Incident.objects.create(
        kind=kind,
        title=title,
        summary=summary,
        severity=severity,
        severity_rule=severity_rule,
        category=category,
        source=source,
        declared_by=by,
        declared_at=now,
        detected_at=detected_at or now,
        started_at=started_at,
        alert_group_key=alert_group_key,
        updated_at=now,
    )
    _link_assets(incident, assets, asset_source)
    record(
        incident,
        "incident.declared",
        by=by,
        system_actor=system_actor,
        payload={
            "reference": incident.reference,
            "kind": kind,
            "title": title,
            "severity": severity,
            "severity_rule": severity_rule,
            "category": category,
            "source": source,
            "assets": [a.name for a in assets],
        },
    )
    notify(event="declared", incident=incident)
    page_on_commit(incident)
    if commander is not None:
        role_assign(incident=incident, role=IncidentRole.COMMANDER, user=commander, by=by, system_actor=system_actor)
    return incident


def active_commander(incident: Incident) -> RoleAssignment | None:
    return (
        RoleAssignment.objects.filter(incident=incident, role=IncidentRole.COMMANDER, relieved_at__isnull=True)
        .select_related("user")
        .first()
    )


@transaction.atomic
def incident_transition(
    *, incident: Incident, to: str, by: User | None, reason: str = "", system_actor: str = ""
) -> Incident:
    """Move the incident to `to` if the state machine allows it; otherwise refuse and change nothing."""
    locked = lock(incident)
    current = locked.status
    if to not in IncidentStatus.values:
        raise IncidentRefused(f"Unknown status {to!r}.")
    if to not in locked.allowed_next:  # the state machine, and a done drill's way straight to resolved
        allowed = ", ".join(locked.allowed_next) or "nothing (it is closed)"
        raise IncidentRefused(
            f"{locked.reference} cannot go from {current} to {to}; from {current} it may go to {allowed}."
        )
    if current == IncidentStatus.DECLARED and active_commander(locked) is None:
        raise IncidentRefused(
            f"{locked.reference} cannot leave declared without an incident commander; assign one first."
        )
    if to == IncidentStatus.CLOSED:
        blocking = list(
            ActionItem.objects.filter(incident=locked, critical=True, status=ActionStatus.OPEN).values_list(
                "title", flat=True
            )
        )
        if blocking:
            raise IncidentRefused(
                f"{locked.reference} has {len(blocking)} open critical action item{'s' if len(blocking) > 1 else ''} "
                f"({'; '.join(blocking)}); finish or drop them before closing."
            )
        refuse_close_while_assessments_owed(locked)
    now = timezone.now()
    locked.status = to
    fields = ["status", "updated_at"]
    if to == IncidentStatus.RESOLVED:
        locked.resolved_at = now
        fields.append("resolved_at")
        if locked.restored_at is None:
            locked.restored_at = now
            fields.append("restored_at")
    elif to == IncidentStatus.CLOSED:
        locked.closed_at = now
        fields.append("closed_at")
    elif current == IncidentStatus.RESOLVED:  # reopened
        locked.resolved_at = None
        fields.append("resolved_at")
    locked.updated_at = now
    locked.save(update_fields=fields)
    record(
        locked,
        "incident.status_changed",
        by=by,
        system_actor=system_actor,
        payload={"from": current, "to": to, "reason": reason},
    )
    return locked


@transaction.atomic
def incident_set_severity(
    *, incident: Incident, severity: str, rule: str, by: User | None, system_actor: str = ""
) -> Incident:
    locked = lock(incident)
    refuse_if_closed(locked, "its severity is final")
    if severity not in Severity.values:
        raise IncidentRefused(f"Unknown severity {severity!r}; use SEV1 to SEV4.")
    if not rule.strip():
        raise IncidentRefused("Say why the severity changes; the rule is part of the record.")
    if severity == locked.severity:
        return locked
    previous = locked.severity
    locked.severity, locked.severity_rule, locked.updated_at = severity, rule.strip(), timezone.now()
    locked.save(update_fields=["severity", "severity_rule", "updated_at"])
    record(
        locked,
        "incident.severity_changed",
        by=by,
        system_actor=system_actor,
        payload={"from": previous, "to": severity, "rule": locked.severity_rule},
    )
    severity_page_on_commit(locked, previous)
    return locked


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@transaction.atomic
def incident_update_facts(*, incident: Incident, changes: Mapping[str, Any], by: User | None) -> Incident:
    """Record key times and data impact; one audit event lists every field that changed, old and new."""
    unknown = set(changes) - FACT_FIELDS
    if unknown:
        raise IncidentRefused(f"Cannot change {', '.join(sorted(unknown))} here.")
    locked = lock(incident)
    refuse_if_closed(locked, "its facts are final")
    now = timezone.now()
    for name in TIME_FIELDS:
        moment = changes.get(name)
        if moment is not None and moment > now + FUTURE_SLACK:
            label = getattr(Incident._meta.get_field(name), "verbose_name", name)
            raise IncidentRefused(f"{str(label).capitalize()} is in the future ({moment:%Y-%m-%d %H:%M} UTC).")
    if "category" in changes and changes["category"] not in Category.values:
        raise IncidentRefused(f"Unknown category {changes['category']!r}.")
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        old = getattr(locked, name)
        if old != value:
            diff[name] = [_jsonable(old), _jsonable(value)]
            setattr(locked, name, value)
    if not diff:
        return locked
    locked.updated_at = now
    locked.save(update_fields=[*diff, "updated_at"])
    record(locked, "incident.facts_updated", by=by, payload={"changed": diff})
    return locked


@transaction.atomic
def incident_add_assets(
    *,
    incident: Incident,
    assets: Sequence[Asset],
    by: User | None,
    source: str = AssetSource.ADDED,
    system_actor: str = "",
) -> list[Asset]:
    locked = lock(incident)
    refuse_if_closed(locked, "its affected assets are final")
    added = _link_assets(locked, assets, source)
    if added:
        record(
            locked,
            "incident.assets_added",
            by=by,
            system_actor=system_actor,
            payload={"assets": [a.name for a in added], "source": source},
        )
    return added


def role_refusal(*, role: str, user: User) -> str | None:
    """Why `user` may not hold `role`, or None when they may."""
    if role not in IncidentRole.values:
        return f"Unknown incident role {role!r}."
    if not user.is_active:
        return f"{user.username}'s account is disabled."
    perm = ROLE_REQUIRES[role]
    if not has_role_perm(user, perm):
        holders = ", ".join(str(Role(r).label) for r in _roles_with(perm))
        return (
            f"{user.username} is {Role(user.role).label.lower()}; "
            f"{IncidentRole(role).label.lower()} needs an account that may {perm.replace('_', ' ')} ({holders})."
        )
    return None


def _roles_with(perm: Any) -> list[str]:
    from dr_portal.accounts.access import ROLE_PERMS

    return [role for role, perms in ROLE_PERMS.items() if perm in perms]


@transaction.atomic
def role_assign(
    *, incident: Incident, role: str, user: User, by: User | None, system_actor: str = ""
) -> RoleAssignment:
    """Give `role` to `user`; whoever held it is relieved in the same step (a handoff)."""
    locked = lock(incident)
    refuse_if_closed(locked, "its roles are final")
    why = role_refusal(role=role, user=user)
    if why:
        raise IncidentRefused(why)
    current = (
        RoleAssignment.objects.select_for_update(no_key=True)
        .filter(incident=locked, role=role, relieved_at__isnull=True)
        .first()
    )
    if current is not None and current.user_id == user.pk:
        raise IncidentRefused(f"{user.username} already is the {IncidentRole(role).label.lower()}.")
    now = timezone.now()
    previous = None
    if current is not None:
        previous = current.user.username
        current.relieved_at, current.relieved_by = now, by
        current.save(update_fields=["relieved_at", "relieved_by"])
    assignment = RoleAssignment.objects.create(incident=locked, role=role, user=user, assigned_by=by, assigned_at=now)
    record(
        locked,
        "incident.role_assigned",
        by=by,
        system_actor=system_actor,
        payload={"role": role, "user": user.username, "relieved": previous},
    )
    notify(event="role_assigned", incident=locked, assignee=user, extra={"role": role, "user": user.username})
    return assignment


@transaction.atomic
def role_relieve(*, incident: Incident, role: str, by: User | None) -> RoleAssignment:
    locked = lock(incident)
    refuse_if_closed(locked, "its roles are final")
    current = (
        RoleAssignment.objects.select_for_update(no_key=True)
        .filter(incident=locked, role=role, relieved_at__isnull=True)
        .first()
    )
    if current is None:
        raise IncidentRefused(
            f"Nobody holds {IncidentRole(role).label.lower() if role in IncidentRole.values else role}."
        )
    if role == IncidentRole.COMMANDER and locked.status != IncidentStatus.DECLARED:
        raise IncidentRefused("An active incident always has a commander: hand the role to someone else instead.")
    current.relieved_at, current.relieved_by = timezone.now(), by
    current.save(update_fields=["relieved_at", "relieved_by"])
    record(locked, "incident.role_relieved", by=by, payload={"role": role, "user": current.user.username})
    return current
