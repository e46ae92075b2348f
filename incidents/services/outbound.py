"""Outbound notifications: email through Django's backend, and signed JSON webhooks.

`notify` only writes Delivery rows and queues their ids on commit; a worker
sends them (`delivery_attempt`). Webhooks are at-least-once: a receiver may see
a delivery twice (say, after a worker died mid-request) and should dedupe on
the X-DRP-Delivery header.

Signature: X-DRP-Signature is `sha256=` + hex HMAC-SHA256 over
`<X-DRP-Timestamp>.<raw body>` with OUTBOUND_WEBHOOK_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dr_portal.accounts.models import User
from dr_portal.audit.services import audit_append, canonical_json
from dr_portal.outbound import TargetRefused, send
from dr_portal.queue import send_now, send_on_commit
from incidents.models import Delivery, DeliveryChannel, DeliveryStatus, Incident, RoleAssignment

EVENTS = ("declared", "role_assigned", "deadline_near", "approval_needed", "reopened")
SUBJECTS = {
    "declared": "{ref} declared: {title} ({severity})",
    "role_assigned": "{ref}: you are now {role_label}",
    "deadline_near": "{ref}: {clock} deadline {state}",
    "approval_needed": "{ref}: approval needed for {step}",
    "reopened": "{ref} reopened by a new alert: {title} ({severity})",
}


class TransientFailure(Exception):
    """Worth another try: a timeout, a refused connection, a 5xx or 429."""


class PermanentFailure(Exception):
    """Trying again will not help: a 4xx other than 429, a bad address."""


def incident_summary(incident: Incident) -> dict[str, Any]:
    return {
        "id": str(incident.public_id),
        "reference": incident.reference,
        "kind": incident.kind,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "category": incident.category,
        "url": settings.SITE_URL.rstrip("/") + reverse("incidents:detail", args=[incident.public_id]),
        # Receivers route on these: which assets are hit, and the teams that own them.
        "assets": sorted(a.name for a in incident.assets.all()),
        "teams": sorted({a.owner_team for a in incident.assets.all() if a.owner_team}),
    }


def _email_audience(event: str, incident: Incident, assignee: User | None, payload: dict[str, Any]) -> list[str]:
    wanted = settings.NOTIFY_EMAIL.get(event, [])
    people: dict[int, User] = {}
    roles = [w for w in wanted if w not in ("assignee", "incident_roles", "approvers")]
    found = payload.get("step")
    step: dict[str, Any] = found if isinstance(found, dict) else {}
    if "approvers" in wanted and step.get("approval_role"):
        # Whoever holds the role the step names, except the person who asked for it.
        approvers = User.objects.filter(role=step["approval_role"], is_active=True).exclude(email="")
        for user in approvers.exclude(username=step.get("requested_by") or ""):
            people[user.pk] = user
    if roles:
        for user in User.objects.filter(role__in=roles, is_active=True).exclude(email=""):
            people[user.pk] = user
    if "assignee" in wanted and assignee is not None and assignee.email:
        people[assignee.pk] = assignee
    if "incident_roles" in wanted:
        holders = RoleAssignment.objects.filter(incident=incident, relieved_at__isnull=True).select_related("user")
        for held in holders:
            if held.user.is_active and held.user.email:
                people[held.user.pk] = held.user
    return sorted({u.email for u in people.values()})


def _queue(delivery: Delivery) -> None:
    from incidents.tasks import delivery_send

    send_on_commit(delivery_send, args=(delivery.pk,))


def notify(
    *,
    event: str,
    incident: Incident,
    assignee: User | None = None,
    extra: dict[str, Any] | None = None,
    dedupe_key: str = "",
) -> list[Delivery]:
    """Write the deliveries settings route `event` to, and queue them once the transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    payload = {"event": event, "incident": incident_summary(incident), **(extra or {})}
    fmt = {
        "ref": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "role_label": str(payload.get("role", "")).replace("_", " "),
        "clock": payload.get("clock", ""),
        "state": str(payload.get("state", "")).replace("_", " "),
        "step": payload.get("step", {}).get("title", "") if isinstance(payload.get("step"), dict) else "",
    }
    subject = SUBJECTS[event].format(**fmt)[:200]
    planned: list[tuple[str, list[str]]] = []
    emails = _email_audience(event, incident, assignee, payload)
    if emails:
        planned.append((DeliveryChannel.EMAIL, emails))
    if event in settings.NOTIFY_WEBHOOK_EVENTS:
        planned.extend((DeliveryChannel.WEBHOOK, [url]) for url in settings.OUTBOUND_WEBHOOK_URLS)
    made: list[Delivery] = []
    for index, (channel, recipients) in enumerate(planned):
        key = f"{dedupe_key}:{channel}:{index}" if dedupe_key else None
        if key and Delivery.objects.filter(dedupe_key=key).exists():
            continue
        delivery = Delivery.objects.create(
            incident=incident,
            event=event,
            channel=channel,
            recipients=recipients,
            subject=subject,
            payload=payload,
            dedupe_key=key,
        )
        _queue(delivery)
        made.append(delivery)
    return made


# --- sending ------------------------------------------------------------------------


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with a cap, then "equal jitter": half fixed, half random, so retries spread out."""
    base = settings.WEBHOOK_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    ceiling = min(float(settings.WEBHOOK_BACKOFF_CAP_SECONDS), float(base))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post_webhook(delivery: Delivery) -> None:
    url = delivery.recipients[0]
    body = canonical_json({**delivery.payload, "delivery": str(delivery.public_id)}).encode()
    stamp = str(int(time.time()))
    # Receivers the operator configured are trusted by name (they are often internal); a delivery
    # row naming any other URL meets the same allow-list as a check.
    configured = frozenset(
        (urlsplit(u).hostname or "").lower().rstrip(".") for u in settings.OUTBOUND_WEBHOOK_URLS if u == url
    )
    try:
        answer = send(
            url,
            method="POST",
            body=body,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            trusted_hosts=configured,
            max_body=1024,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "DR-Portal-Webhook/1",
                "X-DRP-Event": delivery.event,
                "X-DRP-Delivery": str(delivery.public_id),
                "X-DRP-Timestamp": stamp,
                "X-DRP-Signature": sign(settings.OUTBOUND_WEBHOOK_SECRET or "", stamp, body),
            },
        )
    except TargetRefused as exc:
        raise PermanentFailure(f"refused to send to {url}: {exc}") from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise TransientFailure(f"cannot reach {url}: {type(exc).__name__}") from None
    if answer.status == 429 or answer.status >= 500:
        raise TransientFailure(f"HTTP {answer.status} from {url}")
    if not 200 <= answer.status < 300:
        raise PermanentFailure(f"HTTP {answer.status} from {url}")


def _send_email(delivery: Delivery) -> None:
    from incidents.cockpit.emails import email_body

    lines = [email_body(delivery)]
    try:
        send_mail(delivery.subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, delivery.recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientFailure(f"mail server: {exc}") from None


@dataclass(frozen=True)
class Attempt:
    summary: str
    retry_in: float | None = None


def _claim(delivery_id: int) -> Delivery | None:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(no_key=True).filter(pk=delivery_id).first()
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        # A re-dispatched copy arriving while a retry waits for its time: let the retry do it.
        if delivery.next_attempt_at > timezone.now() + timedelta(seconds=1):
            return None
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    return delivery


def _finish(delivery: Delivery, *, status: str, error: str = "") -> None:
    with transaction.atomic():
        locked = Delivery.objects.select_for_update(no_key=True).get(pk=delivery.pk)
        locked.status, locked.last_error, locked.finished_at = status, error, timezone.now()
        locked.save(update_fields=["status", "last_error", "finished_at"])
        audit_append(
            action=f"delivery.{status}",
            system_actor="system:notifier",
            obj=locked,
            incident_id=locked.incident.public_id if locked.incident else None,
            payload={
                "event": locked.event,
                "channel": locked.channel,
                "recipients": locked.recipients,
                "attempts": locked.attempts,
                "error": error,
            },
        )


def delivery_attempt(*, delivery_id: int) -> Attempt:
    """One try at sending; says when to try again, or records the final outcome."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return Attempt("nothing to do")
    try:
        if delivery.channel == DeliveryChannel.EMAIL:
            _send_email(delivery)
        else:
            _post_webhook(delivery)
    except PermanentFailure as exc:
        _finish(delivery, status=DeliveryStatus.FAILED, error=str(exc))
        return Attempt(f"failed for good: {exc}")
    except TransientFailure as exc:
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            error = f"gave up after {delivery.attempts} attempts; last: {exc}"
            _finish(delivery, status=DeliveryStatus.FAILED, error=error)
            return Attempt(error)
        delay = backoff_seconds(delivery.attempts)
        Delivery.objects.filter(pk=delivery.pk).update(
            last_error=str(exc), next_attempt_at=timezone.now() + timedelta(seconds=delay)
        )
        return Attempt(f"attempt {delivery.attempts} failed ({exc}); again in {delay:.1f} s", retry_in=delay)
    _finish(delivery, status=DeliveryStatus.SENT)
    return Attempt(f"sent {delivery.channel} {delivery.event}")


def deliveries_reconcile(*, now: datetime | None = None) -> list[str]:
    """Re-queue pending deliveries whose message (or retry) was lost with a broker or worker."""
    from incidents.tasks import delivery_send

    now = now or timezone.now()
    stuck = Delivery.objects.stuck(before=now - timedelta(seconds=settings.DELIVERY_STALE_SECONDS))
    done = []
    for delivery in stuck.order_by("pk")[:500]:
        send_now(delivery_send, args=(delivery.pk,))
        done.append(str(delivery.public_id))
    return done
