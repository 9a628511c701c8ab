"""Write an alert and its outbox rows (one per channel and recipient) into the caller's transaction."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.directory import Directory
from monitor.kernel.regions import DEFAULT_REGION
from monitor.store.models import Alert, Delivery, Issue

log = logging.getLogger(__name__)


def recipients(config: Directory, receiver: str) -> list[tuple[str, str]]:
    """(channel, recipient) pairs for a resolved receiver name (``agency:<code>`` or a configured receiver)."""
    out: list[tuple[str, str]] = []
    cfg = config.alerts
    agency_code: str | None = None
    named = None
    if receiver.startswith("agency:"):
        agency_code = receiver.removeprefix("agency:")
    else:
        named = cfg.receiver(receiver)
        if named is None:
            return []
        agency_code = named.agency
    agency = config.agency(agency_code) if agency_code else None
    if agency is not None:
        out += [("email", e) for e in agency.emails]
        out += [("telegram", c) for c in agency.telegram_chat_ids]
        out += [("telegram", t.recipient) for t in agency.telegram_topics]
        out += [("whatsapp", n) for n in agency.whatsapp_numbers]
    if named is not None:
        out += [("email", e) for e in named.email]
        out += [("telegram", c) for c in named.telegram]
        out += [("telegram", t.recipient) for t in named.telegram_topics]
        out += [("whatsapp", n) for n in named.whatsapp]
        out += [("webhook", w.url) for w in named.webhook]
    enabled = {
        "email": cfg.smtp.enabled,
        "telegram": cfg.telegram.enabled,
        "whatsapp": cfg.whatsapp.enabled,
        "webhook": True,
    }
    seen: set[tuple[str, str]] = set()
    result = []
    for pair in out:
        if enabled.get(pair[0], True) and pair not in seen:
            seen.add(pair)
            result.append(pair)
    return result


def receiver_label(config: Directory, receiver: str) -> str:
    """A human name for a receiver, e.g. 'Dinas PUPR OKI'."""
    if receiver.startswith("agency:"):
        agency = config.agency(receiver.removeprefix("agency:"))
        return agency.name if agency else receiver
    return receiver


def idempotency_key(alert_id: int, channel: str, recipient: str) -> str:
    """Stable per (alert, channel, recipient): the same delivery always has the same key."""
    digest = hashlib.sha256(recipient.encode()).hexdigest()[:12]
    return f"oki-a{alert_id}-{channel}-{digest}"


def queue_alert(
    session: Session,
    config: Directory,
    *,
    receiver: str,
    kind: str,
    now: datetime,
    payload: dict[str, Any],
    issue_id: int | None = None,
    agency_code: str | None = None,
    stage: str | None = None,
    parent_alert_id: int | None = None,
    deliver_at: datetime | None = None,
    ack_due_at: datetime | None = None,
    respond_due_at: datetime | None = None,
    escalation_level: int = 0,
    with_deliveries: bool = True,
    region_code: str | None = None,
) -> Alert:
    """Create the alert row and its deliveries; the caller's commit makes the decision and the outbox one.

    The alert is in ``region_code`` when given, else in its issue's region (else the default region).
    """
    if region_code is None:
        issue = session.get(Issue, issue_id) if issue_id is not None else None
        region_code = issue.region_code if issue is not None else DEFAULT_REGION
    alert = Alert(
        issue_id=issue_id,
        receiver=receiver,
        agency_code=agency_code,
        kind=kind,
        stage=stage,
        parent_alert_id=parent_alert_id,
        created_at=now,
        ack_token=secrets.token_urlsafe(18),
        ack_due_at=ack_due_at,
        respond_due_at=respond_due_at,
        escalation_level=escalation_level,
        payload={**payload, "kind": kind, "receiver_name": receiver_label(config, receiver)},
        region_code=region_code,
    )
    session.add(alert)
    session.flush()
    if not with_deliveries:
        return alert
    pairs = recipients(config, receiver)
    if not pairs:
        log.warning("alert %s for %s has no recipients (no e-mail/chat configured)", alert.id, receiver)
    for channel, recipient in pairs:
        session.add(
            Delivery(
                alert_id=alert.id,
                channel=channel,
                recipient=recipient,
                idempotency_key=idempotency_key(alert.id, channel, recipient),
                status="pending",
                attempts=0,
                next_attempt_at=deliver_at or now,
                created_at=now,
            )
        )
    session.flush()
    return alert
