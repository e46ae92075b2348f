"""The incident timeline as people read it: run and step events in words, automatic ones folded per step.

The timeline stays a projection of the audit log; this module only decides how
a page of its events is shown. Automatic step events (no person acted) of one
step fold into one row with a count, and alerts of one alert group fold into
one row, so a 500-alert storm is one expandable entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dr_portal.accounts.models import Role, User
from dr_portal.accounts.people import display_name
from dr_portal.audit.models import ERASED, AuditEvent
from incidents.models import AlertRecord, Incident
from incidents.runs.models import RecoveryRun, StepRun
from incidents.templatetags.incident_tags import describe_payload
from inventory.models import StepKind
from inventory.readiness import human_duration

# What a step event says happened to it, in one or two words.
STEP_STATES = {
    "step.queued": "queued",
    "step.started": "running",
    "step.taken_over": "taken over",
    "step.succeeded": "succeeded",
    "step.failed": "failed",
    "step.retrying": "retrying",
    "step.cancelled": "cancelled",
    "step.waiting_for_person": "waiting for a person",
    "step.approval_expired": "approval expired",
}

RUN_TEXT = {
    "run.requested": "requested",
    "run.started": "started",
    "run.waiting_approval": "waiting for approval",
    "run.resumed": "resumed",
    "run.verifying": "verifying",
    "run.succeeded": "succeeded",
    "run.partially_failed": "partially failed",
    "run.failed": "failed",
    "run.cancelled": "cancelled",
    "run.reopened": "reopened",
    "run.cleaned_up": "drill target cleaned up",
    "run.locks_released": "asset locks released",
    "run.golden_checked": "golden set checked",
}


@dataclass
class Row:
    """One line of the timeline: a single event, or several folded into one (newest first)."""

    event: AuditEvent
    text: str = ""
    comment: str = ""
    events: list[AuditEvent] = field(default_factory=list)
    lines: list[tuple[AuditEvent, str]] = field(default_factory=list)
    kind: str = ""
    actor: str = ""  # the person's display name, when a person acted

    @property
    def grouped(self) -> bool:
        return len(self.events) > 1

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def span(self) -> str:
        if len(self.events) < 2:
            return ""
        took: timedelta = self.events[0].recorded_at - self.events[-1].recorded_at
        return human_duration(took)


@dataclass(frozen=True)
class _Lookups:
    runs: dict[str, RecoveryRun]
    steps: dict[tuple[str, str], StepRun]
    alert_groups: dict[str, str]
    people: dict[int, str]
    usernames: dict[str, str]  # username → display name, for events written before ids were kept
    emails: dict[str, str]  # address → display name, for deliveries to one known person


def _named(events: list[AuditEvent]) -> tuple[set[int], set[str], set[str]]:
    """The person ids, usernames and email addresses that paging and delivery events name."""
    ids: set[int] = set()
    usernames: set[str] = set()
    emails: set[str] = set()
    for e in events:
        p = e.payload
        if e.action == "step.approved":
            ids.update(i for i in p.get("approvers", []) if isinstance(i, int))
        elif e.action == "page.notified":
            ids.update(i for i in p.get("person_ids", []) if isinstance(i, int))
            if "person_ids" not in p:
                usernames.update(str(u) for u in p.get("people", []))
        elif e.action.startswith("delivery.") and p.get("channel") == "email":
            emails.update(str(r) for r in p.get("recipients", []))
        elif e.action in NAMED_BY_USERNAME:
            usernames.update(str(p[key]) for key in NAMED_BY_USERNAME[e.action] if p.get(key))
    return ids, usernames, emails


def _lookups(incident: Incident, events: list[AuditEvent]) -> _Lookups:
    run_ids = {e.object_id for e in events if e.action.startswith(("run.", "step.")) and e.object_id}
    runs = {str(r.public_id): r for r in RecoveryRun.objects.filter(public_id__in=run_ids).select_related("plan")}
    steps = {
        (str(s.run.public_id), s.key): s
        for s in StepRun.objects.filter(run__public_id__in=run_ids).select_related("run", "asset")
    }
    groups: dict[str, str] = {}
    if any(e.action.startswith("alert.") for e in events):
        groups = dict(AlertRecord.objects.filter(incident=incident).values_list("fingerprint", "group_key"))
    ids, usernames, emails = _named(events)
    ids.update(e.actor_id for e in events if e.actor_id is not None)
    people = {u.pk: display_name(u) for u in User.objects.filter(pk__in=ids)}
    by_username = {u.username: display_name(u) for u in User.objects.filter(username__in=usernames)}
    by_email: dict[str, str] = {}
    if emails:
        holders: dict[str, list[str]] = {}
        for u in User.objects.filter(email__in=emails).order_by("pk"):
            holders.setdefault(u.email, []).append(display_name(u))
        by_email = {address: names[0] for address, names in holders.items() if len(names) == 1}
    return _Lookups(runs=runs, steps=steps, alert_groups=groups, people=people, usernames=by_username, emails=by_email)


def _role(value: Any) -> str:
    return str(Role(value).label) if value in Role.values else str(value)


def step_name(step: StepRun | None, key: str, kind: str) -> str:
    """'restore fraud-feature-store', or the step's title when it acts on no asset."""
    if step is None:
        return f"{kind} {key}".strip()
    if step.asset is not None:
        label = StepKind(step.kind).label.lower() if step.kind in StepKind.values else step.kind
        return f"{label} {step.asset.name}"
    return step.title


def _step_text(event: AuditEvent, found: _Lookups) -> tuple[str, str]:
    p = event.payload
    step = found.steps.get((event.object_id, str(p.get("step", ""))))
    name = step_name(step, str(p.get("step", "")), str(p.get("kind", "")))
    run = found.runs.get(event.object_id)
    where = f"{run.reference} " if run else ""
    who = found.people.get(event.actor_id or 0) or event.actor_label
    action = event.action
    if action == "step.approval_requested":
        return (
            f"{where}{name}: {who} asked for {p.get('quorum')} approval(s) by {_role(p.get('role'))}",
            "",
        )
    if action == "step.approval_recorded":
        verb = "approved" if p.get("decision") == "approve" else "rejected"
        return f"{where}{name}: {who} {verb}", str(p.get("comment", ""))
    if action == "step.approved":
        names = [found.people.get(i, f"person #{i}") if isinstance(i, int) else str(i) for i in p.get("approvers", [])]
        return f"{where}{name}: approval complete ({', '.join(names)})", ""
    if action == "step.rejected":
        return f"{where}{name}: rejected by {who}", str(p.get("comment", ""))
    if action == "step.skipped":
        return f"{where}{name}: skipped by {who}", str(p.get("reason", ""))
    if action == "step.done_by_person":
        return f"{where}{name}: done by {who}", str(p.get("note", ""))
    if action == "step.retried":
        return f"{where}{name}: retried by {who}", ""
    if action == "step.changed":
        return f"{where}{name}: parameters changed by {who} (approval needed again)", ""
    state = STEP_STATES.get(action, action.removeprefix("step.").replace("_", " "))
    reason = str(p.get("reason", "")) if action in ("step.failed", "step.retrying") else ""
    return f"{where}{name}: {state}", reason


def _run_text(event: AuditEvent, found: _Lookups) -> tuple[str, str]:
    p = event.payload
    run = found.runs.get(event.object_id)
    ref = run.reference if run else "Run"
    what = RUN_TEXT.get(event.action, event.action.removeprefix("run.").replace("_", " "))
    if event.action == "run.requested":
        assets = ", ".join(p.get("assets", []))
        who = found.people.get(event.actor_id or 0) or event.actor_label
        return f"{ref} requested by {who}: {p.get('plan')} ({p.get('mode')}){' for ' + assets if assets else ''}", ""
    if event.action == "run.golden_checked":
        return f"{ref}: golden set of {p.get('asset')} {'passed' if p.get('passed') else 'FAILED'}", str(
            p.get("detail", "")
        )
    plan = f" ({run.plan.name})" if run else ""
    return f"{ref}{plan} {what}", str(p.get("reason") or p.get("error") or "")


# Events that name people by username in their payload, and which keys: shown with display names.
NAMED_BY_USERNAME = {
    "incident.role_assigned": ("user", "relieved"),
    "incident.role_relieved": ("user",),
    "action_item.added": ("owner",),
}


def _named_text(event: AuditEvent, found: _Lookups) -> str:
    """The generic wording of `event`, with each username it names swapped for the display name."""
    p = dict(event.payload)
    if not event.is_erased:
        for key in NAMED_BY_USERNAME[event.action]:
            if p.get(key):
                p[key] = found.usernames.get(str(p[key]), str(p[key]))
    return describe_payload(event.action, p)


def _paged_text(event: AuditEvent, found: _Lookups) -> str:
    """'Paged Oli Tester (level 1): SEV1 declared' — names as people know them, also for old events."""
    p = event.payload
    if event.is_erased:
        names = [ERASED]
    elif "person_ids" in p:
        kept = [str(n) for n in p.get("people", [])]
        ids = [i for i in p["person_ids"] if isinstance(i, int)]
        names = [found.people.get(i) or (kept[n] if n < len(kept) else f"person #{i}") for n, i in enumerate(ids)]
    else:  # written with usernames only
        names = [found.usernames.get(str(u), str(u)) for u in p.get("people", [])]
    return f"Paged {', '.join(names)} (level {p.get('level')}): {p.get('why')}"


def _delivery_text(event: AuditEvent, found: _Lookups) -> str:
    """'Sent page email to Oli Tester': an address one known person holds reads as their name."""
    p = event.payload
    what = f"{p.get('event', '').replace('_', ' ')} {p.get('channel')}"
    to = ", ".join(found.emails.get(str(r), str(r)) for r in p.get("recipients", []))
    if event.action == "delivery.sent":
        return f"Sent {what} to {to}"
    return f"Could not send {what} to {to} after {p.get('attempts')} attempts: {p.get('error')}"


def _automatic_step(event: AuditEvent) -> bool:
    return event.actor_id is None and event.action in STEP_STATES


def _specific_text(event: AuditEvent, found: _Lookups) -> tuple[str, str]:
    """(text, comment) with names, steps and assets resolved; ("", "") where the generic wording will do."""
    try:
        if event.action.startswith("step."):
            return _step_text(event, found)
        if event.action.startswith("run."):
            return _run_text(event, found)
        if event.action in NAMED_BY_USERNAME:
            return _named_text(event, found), ""
        if event.action == "page.notified":
            return _paged_text(event, found), ""
        if event.action in ("delivery.sent", "delivery.failed"):
            return _delivery_text(event, found), ""
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # an unexpected payload: the generic wording still shows the event
    return "", ""


def entry_texts(*, incident: Incident, entries: list[AuditEvent]) -> dict[int, str]:
    """Each entry's text by seq, as the timeline words it: the one wording for the pinned list and the API."""
    found = _lookups(incident, entries)
    return {e.seq: _specific_text(e, found)[0] or describe_payload(e.action, e.payload) for e in entries}


def timeline_rows(*, incident: Incident, entries: list[AuditEvent]) -> list[Row]:
    """The page's events as rows, newest first; a fold sits where its newest event is."""
    found = _lookups(incident, entries)
    rows: list[Row] = []
    folds: dict[tuple[str, str], Row] = {}
    for event in entries:
        fold_key: tuple[str, str] | None = None
        if _automatic_step(event):
            fold_key = ("step", f"{event.object_id}/{event.payload.get('step')}")
        elif event.action.startswith("alert.") and event.actor_id is None:
            group = found.alert_groups.get(str(event.payload.get("fingerprint", "")), "")
            fold_key = ("alert", group) if group else None
        if fold_key is not None and fold_key in folds:
            folds[fold_key].events.append(event)
            continue
        row = Row(event=event, events=[event], kind=fold_key[0] if fold_key else "")
        if event.actor_id is not None and not event.is_erased:
            row.actor = found.people.get(event.actor_id, "")
        row.text, row.comment = _specific_text(event, found)
        rows.append(row)
        if fold_key is not None:
            folds[fold_key] = row
    for (kind, key), row in folds.items():
        if row.grouped:
            _fold_text(row, kind, key, found)
    return rows


def _fold_text(row: Row, kind: str, key: str, found: _Lookups) -> None:
    oldest_first = list(reversed(row.events))
    if kind == "step":
        first = oldest_first[0]
        name = _step_text(first, found)[0].split(":")[0]
        states = " → ".join(STEP_STATES.get(e.action, e.action) for e in oldest_first)
        row.text = f"{name}: {states}, {row.span}"
        row.comment = next((c for c in (_step_text(e, found)[1] for e in row.events) if c), "")
        row.lines = [(e, STEP_STATES.get(e.action, e.action)) for e in oldest_first]
        return
    firing = {str(e.payload.get("fingerprint")) for e in oldest_first if e.action != "alert.resolved"}
    resolved = {str(e.payload.get("fingerprint")) for e in oldest_first if e.action == "alert.resolved"}
    names = sorted({str(e.payload.get("name", "")) for e in oldest_first})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    row.text = f"Alert group {key}: {len(firing)} alert(s) firing, {len(resolved)} resolved — {shown}"
    row.lines = [(e, f"{e.action.removeprefix('alert.')}: {e.payload.get('name', '')}") for e in oldest_first]
