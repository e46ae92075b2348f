"""Discovery's proposals as rows a person edits: a valid name, what was changed and why, defaults.

A system names things freely ("Fraud Scorer v2", ``模型-🚀``); an asset's name is a slug. Each row
proposes a slug (a short hash when nothing of the name fits one), unique within the look, and says
on the page whatever it changed: a name made a slug, a tier tag outside 0 to 3, a team cut to length.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import slugify

from inventory.connectors import ConnectorError, Proposal, connector_class
from inventory.models import Asset, RecoveryPolicy, Vault
from inventory.policies import TIER_DEFAULTS

NAME_MAX = Asset._meta.get_field("name").max_length or 100
TITLE_MAX = Asset._meta.get_field("title").max_length or 200
TEAM_MAX = Asset._meta.get_field("owner_team").max_length or 100
SOURCE_MAX = Asset._meta.get_field("source_uri").max_length or 500
DEFAULT_TIER = 2
TIER_TEXTS = ("0", "1", "2", "3")  # a tier as text, exactly: "²".isdigit() is true, and int() refuses it
FACT_NAMES = {"with_ttl": "With a TTL", "model_from": "Model from", "db": "Logical database"}
TIER_POLICY = "tier"  # the policy select's value for "the policy of the tier chosen"


def slug_for(name: str, *, kind: str) -> str:
    """A valid asset name for ``name``: its ASCII slug, else ``<kind>-<hash>`` when nothing of it fits."""
    slug = slugify(name)[:NAME_MAX].strip("-")
    if slug:
        return slug
    return f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def unique_names(rows: list[dict[str, Any]]) -> None:
    """Two things whose names make the same slug get ``-2``, ``-3``…; the row says so."""
    seen: set[str] = set()
    for row in rows:
        base, n = row["name"], 1
        while row["name"] in seen:
            n += 1
            row["name"] = f"{base[: NAME_MAX - len(str(n)) - 1]}-{n}"
        if n > 1:
            row["notes"].append(f"Named {row['name']}: another proposal of this look is already {base}.")
        seen.add(row["name"])


def proposal_row(proposal: Proposal, *, kind: str, asset_kind: str) -> dict[str, Any]:
    """A proposal as the editable row the person sees, with a note for each value it had to change."""
    notes: list[str] = []
    name = slug_for(proposal.name, kind=kind)
    if name != proposal.name:
        why = (
            "a name holds only a to z, 0 to 9, hyphens and underscores"
            if slugify(proposal.name)
            else "none of its characters fits a name (a to z, 0 to 9, hyphens), so a short hash stands in"
        )
        notes.append(f'Named {name} from "{proposal.name}": {why}.')
    tier_tag = str(proposal.labels.get("tier", "")).strip()
    tier_ok = tier_tag in TIER_TEXTS
    if tier_tag and not tier_ok:
        notes.append(
            f"The system's tag tier={tier_tag} is not a tier (0 to 3): tier {DEFAULT_TIER} is proposed; choose one."
        )
    team = str(proposal.labels.get("team") or proposal.owner or "").strip()
    if len(team) > TEAM_MAX:
        notes.append(
            f"The system's team tag is {len(team)} characters; an owner team holds at most {TEAM_MAX}, "
            f"so its first {TEAM_MAX} are proposed."
        )
    title = (proposal.title or proposal.name).strip()
    if len(title) > TITLE_MAX:
        notes.append(f"The title is cut to its first {TITLE_MAX} characters (the most a title holds).")
    cls = connector_class(kind)
    local = proposal.source or proposal.config.get("path")
    try:
        described = cls(proposal.config).target_label(proposal.config)
    except ConnectorError:
        described = cls.label or kind
    return {
        "name": name,
        "title": title[:TITLE_MAX],
        "team": team[:TEAM_MAX],
        "tier": int(tier_tag) if tier_ok else DEFAULT_TIER,
        "tier_labelled": tier_ok,
        "tier_tag": tier_tag,
        "team_labelled": bool(team),
        "kind": asset_kind,
        "connector": kind,
        "config": proposal.config,
        "labels": {k: str(v) for k, v in proposal.labels.items()},
        # A local file is the source; a server's connector is its own source, described, never a made-up path.
        "source_uri": local[:SOURCE_MAX] if isinstance(local, str) and local.startswith("/") else "",
        "described": described,
        "facts": [(FACT_NAMES.get(k, k.replace("_", " ").capitalize()), str(v)) for k, v in proposal.labels.items()],
        "notes": notes,
        "problem": proposal.problem,
        "exists": "",  # the public id of the asset that already has this name
        "covered_by": None,
    }


def error_lines(name: str, invalid: dict[str, list[str]]) -> list[str]:
    """A model's errors worded with the fields' labels ("Owner team: …"), never their internal names."""
    out = []
    for field, errors in invalid.items():
        try:
            label = str(getattr(Asset._meta.get_field(field), "verbose_name", field))
            label = label[:1].upper() + label[1:]
        except FieldDoesNotExist:
            label = ""
        out += [f"{name or '(no name)'}: {label + ': ' if label else ''}{e}" for e in errors]
    return out


def tier_policies() -> dict[int, RecoveryPolicy]:
    """The policy each tier gets by default: the one named as the tier's reference policy, if any."""
    by_name = {p.name: p for p in RecoveryPolicy.objects.filter(name__in=[d.name for d in TIER_DEFAULTS.values()])}
    return {tier: by_name[d.name] for tier, d in TIER_DEFAULTS.items() if d.name in by_name}


def vault_default(region: str) -> Vault | None:
    """The only vault, else the only vault in the proposals' region; None when a person must choose."""
    vaults = list(Vault.objects.order_by("name")[:50])
    if len(vaults) == 1:
        return vaults[0]
    here = [v for v in vaults if v.region == region]
    return here[0] if len(here) == 1 else None


def choices(region: str) -> dict[str, Any]:
    """What the confirm step offers: policies (by tier by default) and vaults, with their defaults."""
    chosen = vault_default(region)
    return {
        "policies": list(RecoveryPolicy.objects.order_by("name").values_list("public_id", "name")),
        "tier_policies": {tier: p.name for tier, p in tier_policies().items()},
        "vaults": list(Vault.objects.order_by("name").values_list("public_id", "name", "region")),
        "vault_default": str(chosen.public_id) if chosen else "",
    }


def resolve(row: dict[str, Any], policy: str, vault: str) -> tuple[RecoveryPolicy | None, Vault | None, list[str]]:
    """The policy and vault a confirmed row gets from the selects' values; problems when one is unknown."""
    problems = []
    found_policy = None
    if policy == TIER_POLICY:
        found_policy = tier_policies().get(row["tier"])
    elif policy:
        found_policy = RecoveryPolicy.objects.filter(public_id=policy).first() if _uuid(policy) else None
        if found_policy is None:
            problems.append(f"{row['name']}: Policy: that recovery policy no longer exists; choose another.")
    found_vault = Vault.objects.filter(public_id=vault).first() if vault and _uuid(vault) else None
    if vault and found_vault is None:
        problems.append(f"{row['name']}: Vault: that vault no longer exists; choose another.")
    return found_policy, found_vault, problems


def _uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
