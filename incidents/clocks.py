"""Regulatory deadlines computed from an incident's facts; see ../shared COMPLIANCE.md for the sources.

Pure functions over rows already loaded: no queries here, so a list page can
compute clocks for many incidents without one query each.

- GDPR Art. 33(1): the supervisory authority within 72 hours of becoming aware
  of a personal-data breach; a later notice must give the reasons for the delay.
- HIPAA §164.404: individuals within 60 calendar days of discovering a breach
  of *unsecured* PHI (encrypted PHI falls under the safe harbour).
  §164.408: HHS within the same 60 days when 500 or more people are affected,
  otherwise in the yearly log, within 60 days after the end of the calendar year.
- EU AI Act Art. 73: 15 days after the provider becomes aware of a serious
  incident (73(2)); 10 days on the death of a person (73(4)); 2 days for a
  widespread infringement or a serious and irreversible disruption of critical
  infrastructure (73(3), Art. 3(49)(b)). The shortest that applies wins.

The guided assessments' answers (`answers`, question key → newest value) refine
the incident's flags: a "yes" adds a regime, an Art. 33(1) "unlikely to result
in a risk" or a HIPAA "low probability of compromise" takes the clock away with
a note, and the AI Act category and the numbers affected set the windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from incidents.models import DelayReason, Incident, Regime

GDPR_WINDOW = timedelta(hours=72)
HIPAA_WINDOW = timedelta(days=60)
HHS_LARGE_BREACH = 500
AI_ACT_DEFAULT = timedelta(days=15)
AI_ACT_DEATH = timedelta(days=10)
AI_ACT_WIDESPREAD = timedelta(days=2)
# "Due soon" once a third of the window is left: 24 h of GDPR's 72 h, 20 of HIPAA's 60 days.
DUE_SOON_FRACTION = 3


class Filed(Protocol):
    """Anything that says a regime's notice went out: one regime of a register notification."""

    @property
    def regime(self) -> str: ...

    @property
    def filed_at(self) -> datetime: ...


def clock_inputs(incident: Incident) -> dict[str, Any]:
    """Notices, delay reasons and assessment answers of one incident, through its (prefetchable)
    relations: a list page that prefetches `CLOCK_PREFETCH` computes every row's clocks without a query each."""
    from incidents.assessments import answer_values
    from incidents.compliance.notices import filed_regimes

    return {
        "filings": filed_regimes(incident.notifications.all()),
        "reasons": incident.delay_reasons.all(),
        "answers": answer_values(incident.assessment_answers.all()),
    }


CLOCK_PREFETCH = ("delay_reasons", "notifications", "assessment_answers")


class ClockState(StrEnum):
    WAITING = "waiting"  # applies, but the moment that starts it is not recorded yet
    RUNNING = "running"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"  # past due, nothing filed
    MET = "met"  # filed on or before the deadline
    LATE = "late"  # filed, but after the deadline

    @property
    def css(self) -> str:
        return {
            "waiting": "status-none",
            "running": "status-ok",
            "due_soon": "status-risk",
            "overdue": "status-bad",
            "met": "status-ok",
            "late": "status-bad",
        }[self.value]

    @property
    def label(self) -> str:
        return {
            "waiting": "start time missing",
            "running": "running",
            "due_soon": "due soon",
            "overdue": "missed",
            "met": "filed in time",
            "late": "filed late",
        }[self.value]


@dataclass(frozen=True)
class Clock:
    regime: str
    label: str
    rule: str
    starts_field: str
    starts_at: datetime | None
    window: timedelta
    due_at: datetime | None
    filed_at: datetime | None
    state: ClockState
    remaining: timedelta | None
    delay_reason: str = ""

    @property
    def missed(self) -> bool:
        return self.state in (ClockState.OVERDUE, ClockState.LATE)

    @property
    def needs_reason(self) -> bool:
        """A missed deadline asks for the reason until one is recorded."""
        return self.missed and not self.delay_reason

    @property
    def is_live(self) -> bool:
        """Still counting down (or overdue with nothing filed): worth a place on the dashboard."""
        return self.state in (ClockState.RUNNING, ClockState.DUE_SOON, ClockState.OVERDUE, ClockState.WAITING)


@dataclass
class ClockBoard:
    clocks: list[Clock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def live(self) -> list[Clock]:
        return [c for c in self.clocks if c.is_live]

    @property
    def next_due(self) -> Clock | None:
        running = [c for c in self.clocks if c.is_live and c.due_at is not None]
        return min(running, key=lambda c: c.due_at or datetime.max.replace(tzinfo=UTC), default=None)


def ai_act_window(incident: Incident, category: Any = None) -> tuple[timedelta, str]:
    if incident.ai_widespread or incident.ai_critical_infra or category == "widespread":
        why = "critical-infrastructure disruption" if incident.ai_critical_infra else "widespread infringement"
        return AI_ACT_WIDESPREAD, f"2 days from awareness ({why}, Art. 73(3))"
    if incident.ai_death or category == "death":
        return AI_ACT_DEATH, "10 days from awareness (a death, Art. 73(4))"
    return AI_ACT_DEFAULT, "15 days from awareness (Art. 73(2))"


def state_counts(text: Any) -> dict[str, int]:
    """'CA=620; NY=40' → {'CA': 620, 'NY': 40}; parts that are not STATE=number are ignored."""
    counts: dict[str, int] = {}
    for part in str(text or "").replace(",", ";").split(";"):
        state, _, number = part.partition("=")
        if state.strip() and number.strip().isdigit():
            counts[state.strip().upper()] = counts.get(state.strip().upper(), 0) + int(number.strip())
    return counts


def affected_count(incident: Incident, answers: Mapping[str, Any]) -> int | None:
    """People affected, as HIPAA counts them: the incident's figure, else the per-state sum, else the GDPR one."""
    if incident.subjects_approx is not None:
        return incident.subjects_approx
    by_state = state_counts(answers.get("hipaa.by_state"))
    if by_state:
        return sum(by_state.values())
    approx = answers.get("gdpr.subjects_approx")
    return approx if isinstance(approx, int) else None


def hhs_due(discovered_at: datetime, subjects: int | None) -> tuple[datetime, str]:
    # Unknown counts are treated as large: the shorter deadline is the safe one.
    if subjects is None or subjects >= HHS_LARGE_BREACH:
        return discovered_at + HIPAA_WINDOW, "60 days from discovery (500 or more affected, or count unknown)"
    year_end = datetime(discovered_at.astimezone(UTC).year + 1, 1, 1, tzinfo=UTC)
    return year_end + HIPAA_WINDOW, "yearly log, 60 days after the end of the calendar year (fewer than 500)"


def _clock(
    *,
    regime: str,
    label: str,
    rule: str,
    starts_field: str,
    starts_at: datetime | None,
    due_at: datetime | None,
    window: timedelta,
    filings: list[Filed],
    reasons: list[DelayReason],
    now: datetime,
) -> Clock:
    filed = min((f.filed_at for f in filings if f.regime == regime), default=None)
    reason = next((r.reason for r in reversed(reasons) if r.regime == regime), "")
    if starts_at is None or due_at is None:
        return Clock(regime, label, rule, starts_field, None, window, None, filed, ClockState.WAITING, None, reason)
    remaining = due_at - now
    if filed is not None:
        # Filing exactly at the deadline is in time: "not later than" includes the moment itself.
        state = ClockState.MET if filed <= due_at else ClockState.LATE
    elif now > due_at:
        state = ClockState.OVERDUE
    elif remaining <= window / DUE_SOON_FRACTION:
        state = ClockState.DUE_SOON
    else:
        state = ClockState.RUNNING
    return Clock(regime, label, rule, starts_field, starts_at, window, due_at, filed, state, remaining, reason)


def incident_clocks(
    incident: Incident,
    *,
    filings: Iterable[Filed],
    reasons: Iterable[DelayReason],
    now: datetime,
    answers: Mapping[str, Any] | None = None,
) -> ClockBoard:
    """The clocks the incident's data impact (and its assessment) makes apply, each with its state at `now`."""
    board = ClockBoard()
    filing_list: list[Filed] = list(filings)
    reason_list = list(reasons)
    said = answers or {}

    def clock(**facts: Any) -> Clock:
        return _clock(filings=filing_list, reasons=reason_list, now=now, **facts)

    personal = incident.personal_data or incident.special_categories or said.get("gdpr.personal_data") == "yes"
    if personal and said.get("gdpr.risk") == "unlikely":
        board.notes.append(
            "GDPR: assessed as unlikely to result in a risk (Art. 33(1)), so the authority need not be notified;"
            " the breach stays in the Art. 33(5) register."
        )
    elif personal:
        start = incident.aware_at
        board.clocks.append(
            clock(
                regime=Regime.GDPR_33,
                label="GDPR Art. 33",
                rule="72 h from becoming aware",
                starts_field="aware_at",
                starts_at=start,
                due_at=start + GDPR_WINDOW if start else None,
                window=GDPR_WINDOW,
            )
        )
    phi = incident.phi or said.get("hipaa.phi") == "yes"
    if phi and incident.data_encrypted:
        board.notes.append(
            "PHI was encrypted: not unsecured PHI, so HIPAA breach notification does not apply (safe harbour)."
        )
    elif phi and said.get("hipaa.outcome") == "low_probability":
        board.notes.append(
            "HIPAA: the four-factor assessment shows a low probability of compromise (§164.402(2)), so this is"
            " not a breach and no notice is due."
        )
    elif phi:
        start = incident.discovered_at
        board.clocks.append(
            clock(
                regime=Regime.HIPAA_INDIVIDUALS,
                label="HIPAA §164.404",
                rule="individuals, 60 days from discovery",
                starts_field="discovered_at",
                starts_at=start,
                due_at=start + HIPAA_WINDOW if start else None,
                window=HIPAA_WINDOW,
            )
        )
        subjects = affected_count(incident, said)
        due, rule = hhs_due(start, subjects) if start else (None, "HHS, 60 days from discovery")
        board.clocks.append(
            clock(
                regime=Regime.HIPAA_HHS,
                label="HIPAA §164.408",
                rule=f"HHS, {rule}",
                starts_field="discovered_at",
                starts_at=start,
                due_at=due,
                window=(due - start) if (due and start) else HIPAA_WINDOW,
            )
        )
    category = said.get("ai_act.category")
    if (
        incident.ai_serious
        or incident.ai_death
        or incident.ai_widespread
        or incident.ai_critical_infra
        or said.get("ai_act.serious") == "yes"
    ):
        window, rule = ai_act_window(incident, category)
        start = incident.ai_aware_at
        board.clocks.append(
            clock(
                regime=Regime.AI_ACT,
                label="EU AI Act Art. 73",
                rule=rule,
                starts_field="ai_aware_at",
                starts_at=start,
                due_at=start + window if start else None,
                window=window,
            )
        )
    return board
