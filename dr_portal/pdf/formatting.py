"""How both compliance reports print values: UTC times, days, yes/no, durations, rates, people, choices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dr_portal.charts import short_duration

if TYPE_CHECKING:
    from dr_portal.accounts.models import User


def ts(moment: datetime | None) -> str | None:
    """UTC, to the second, as every report prints times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def day(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.isoformat()


def yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def duration(value: timedelta | None) -> str | None:
    """3d 4h, 2h 05m, 12m, 40s (the charts' notation); None stays None (not recorded)."""
    return short_duration(value) if value is not None else None


def duration_seconds(value: int | None) -> str | None:
    """`duration()` for a count of seconds, as recovery runs store RTO and RPO."""
    return short_duration(timedelta(seconds=value)) if value is not None else None


def achieved_of_target(achieved_s: int | None, target_s: int | None) -> str | None:
    """ "42m / 1h 00m": achieved over target, or None when nothing was measured."""
    if achieved_s is None:
        return None
    return f"{duration_seconds(achieved_s)} / {duration_seconds(target_s)}"


def rate(ok: int, total: int) -> str:
    """ "97.5 % (39 of 40)"; a rate over nothing says so rather than printing 0 % or 100 %."""
    return f"{100 * ok / total:.1f} % ({ok} of {total})" if total else "n/a (none in scope)"


def person(user: User | None) -> str | None:
    """ "alice (#3, Alice Martin)": the username, the account id and the name if one is set."""
    if user is None:
        return None
    name = user.get_full_name().strip()
    return f"{user.username} (#{user.pk}{', ' + name if name else ''})"


def choice_label(choices: Any, value: str) -> str:
    """The label of a `TextChoices` value; the raw value when it is not (or no longer) a choice."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value
