"""Reading alert payloads: Prometheus Alertmanager's webhook (version 4) and a small generic JSON shape.

Parsing is all-or-nothing: any problem raises PayloadInvalid with the path of
the offending field, before anything is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.dateparse import parse_datetime


class PayloadInvalid(ValueError):
    """The payload cannot be used; the message names the field and the problem."""


@dataclass(frozen=True)
class InboundAlert:
    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or self.annotations.get("summary", "")[:200]


@dataclass(frozen=True)
class InboundBatch:
    source: str
    group_key: str
    alerts: list[InboundAlert]
    common_annotations: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated: int = 0  # alerts of the group left out, by the sender or by us


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadInvalid(f"{where}: expected an object")
    return value


def _string_map(value: Any, where: str, *, required: bool = False) -> dict[str, str]:
    if value is None and not required:
        return {}
    mapping = _object(value, where)
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise PayloadInvalid(f"{where}.{key}: expected a string")
    return dict(mapping)


def _text(value: Any, where: str, *, required: bool = True, limit: int = 500) -> str:
    if value is None or value == "":
        if required:
            raise PayloadInvalid(f"{where}: is required")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"{where}: expected a string")
    if len(value) > limit:
        raise PayloadInvalid(f"{where}: longer than {limit} characters")
    return value


def _link(value: Any, where: str) -> str:
    """An http(s) URL the sender gave, or "" for none; any other scheme is dropped, never shown as a link."""
    text = _text(value, where, required=False, limit=2000)
    return text if is_http_url(text) else ""


def is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadInvalid(f"{where}: expected an RFC 3339 time")
    try:
        # Well-formed but impossible values (30 February, an offset of 25 hours) raise ValueError.
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise PayloadInvalid(f"{where}: {value!r} is not an RFC 3339 time with a zone")
    # Alertmanager sends 0001-01-01T00:00:00Z for "no end yet".
    if parsed.year <= 1:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PayloadInvalid(f"{where}: {value!r} is outside the years a time can have") from None


def _status(value: Any, where: str) -> str:
    if value not in ("firing", "resolved"):
        raise PayloadInvalid(f"{where}: must be 'firing' or 'resolved'")
    return str(value)


def _alerts(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise PayloadInvalid(f"{where}: expected a non-empty list")
    return value


def _keep(raw: list[Any], limit: int) -> list[tuple[int, Any]]:
    """The alerts of a group worth keeping, with their positions: firing ones first, at most `limit`.

    A group too big to store whole is still accepted (Alertmanager never retries a 400);
    what is left out is counted, not refused.
    """
    firing_first = sorted(
        enumerate(raw), key=lambda pair: 0 if isinstance(pair[1], dict) and pair[1].get("status") == "firing" else 1
    )
    return sorted(firing_first[:limit], key=lambda pair: pair[0])


def _count(value: Any, where: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadInvalid(f"{where}: expected a whole number")
    return value


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable fingerprint from labels, for senders that give none."""
    joined = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def parse_alertmanager(data: Any) -> InboundBatch:
    body = _object(data, "payload")
    if str(body.get("version")) != "4":
        raise PayloadInvalid(f"version: expected '4' (Alertmanager webhook v4), got {body.get('version')!r}")
    group_key = _text(body.get("groupKey"), "groupKey", limit=500)
    _status(body.get("status"), "status")
    common = _string_map(body.get("commonAnnotations"), "commonAnnotations")
    raw_alerts = _alerts(body.get("alerts"), "alerts")
    kept = _keep(raw_alerts, settings.ALERT_INTAKE_MAX_ALERTS)
    truncated = _count(body.get("truncatedAlerts"), "truncatedAlerts") + len(raw_alerts) - len(kept)
    alerts = []
    for index, raw in kept:
        where = f"alerts[{index}]"
        item = _object(raw, where)
        labels = _string_map(item.get("labels"), f"{where}.labels", required=True)
        if not labels:
            raise PayloadInvalid(f"{where}.labels: must not be empty")
        alerts.append(
            InboundAlert(
                fingerprint=_text(item.get("fingerprint"), f"{where}.fingerprint", required=False, limit=200)
                or label_fingerprint(labels),
                status=_status(item.get("status"), f"{where}.status"),
                labels=labels,
                annotations=_string_map(item.get("annotations"), f"{where}.annotations"),
                starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
                generator_url=_link(item.get("generatorURL"), f"{where}.generatorURL"),
            )
        )
    external = _link(body.get("externalURL"), "externalURL")
    return InboundBatch("alertmanager", group_key, alerts, common, external, truncated)


def parse_generic(data: Any) -> InboundBatch:
    """{"dedupe_key", "status", "title", "labels", "severity"?, "description"?, "occurred_at"?}.

    One alert per request; `dedupe_key` plays the part of both group key and fingerprint.
    """
    body = _object(data, "payload")
    key = _text(body.get("dedupe_key"), "dedupe_key", limit=200)
    labels = _string_map(body.get("labels"), "labels", required=True)
    if not labels:
        raise PayloadInvalid("labels: must not be empty; they are how alerts find assets")
    title = _text(body.get("title"), "title", limit=200)
    severity = _text(body.get("severity"), "severity", required=False, limit=50)
    if severity:
        labels.setdefault("severity", severity)
    labels.setdefault("alertname", title)
    annotations = {"summary": title}
    description = _text(body.get("description"), "description", required=False, limit=5000)
    if description:
        annotations["description"] = description
    when = _time(body.get("occurred_at"), "occurred_at")
    status = _status(body.get("status", "firing"), "status")
    alert = InboundAlert(
        fingerprint=key,
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=when if status == "firing" else None,
        ends_at=when if status == "resolved" else None,
    )
    return InboundBatch("generic", f"generic:{key}", [alert], annotations)
