"""The delivery worker: send what the outbox holds, at least once, in order per recipient.

Safety against being killed at any point comes from three steps per delivery, each its
own transaction:

1. claim: ``pending``/``failed`` rows that are due become ``sending`` with a lease
   (``next_attempt_at = now + lease``) and ``attempts + 1``;
2. send through the channel (outside any transaction);
3. confirm: ``sent`` (or ``failed`` with a backoff, or ``dead``) and a ``DeliveryAttempt`` row.

A worker killed between 2 and 3 leaves the row ``sending``; once the lease runs out the
next run sends it again (the only possible duplicate: one per kill). Rows that were
claimed but not yet sent are re-sent after the lease too, which is not a duplicate.

Several senders at once (`oki-monitor worker` processes, or the pipeline's immediate send beside
the delivery job): the claim is ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and writes the sender's
id into ``lease_owner``; right before each send the sender renews its lease with a conditional
update that succeeds only while the row is still ``sending`` and still its own. A sender that
stalled past its lease (and whose row another sender has claimed since) therefore skips the send
instead of doubling it. The one at-least-once window left: the channel accepted the message and
the sender died (or its database connection did) before the transaction that marks it ``sent``
committed, a few milliseconds per message; the next sender then sends it again after the lease
(``alerts.retry.lease_seconds``). Channel timeouts are far below that lease, so a single slow
send cannot outlive its lease. Messages carry ``idempotency_key`` (the ``X-OKI-Idempotency-Key``
mail header, the webhook body) so a receiver can drop the rare second copy.

Per (channel, recipient) delivery is FIFO: while an earlier delivery to the same
recipient is failing, later ones wait behind it, so a mail server that comes back gets
the queued alerts in the order they were decided.

Every recipient follows an issue in one thread (:class:`monitor.store.models.AlertThread`): the
first message sent about it is remembered in the transaction that confirms it, and later ones
reply to it under the same subject; the chart goes again only when its data changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.ack import sign_ack_link
from alerts.buttons import STATUS_LINK_LABELS, status_keyboard
from alerts.channels import load_channel
from alerts.channels.base import Button, Channel, OutgoingMessage, PermanentFailure, TemporaryFailure
from alerts.config import RetrySettings
from alerts.conversation import conversation_open
from alerts.directory import Directory
from alerts.queue import queue_alert
from alerts.render import FEEDBACK_LABELS, THREAD_KINDS, Links, render, thread_subject
from monitor.store.db import Database
from monitor.store.models import Alert, AlertThread, Delivery, DeliveryAttempt, DeliveryStatus

log = logging.getLogger(__name__)

SCAN_LIMIT = 5000
"""How many unsent rows one claim looks at (ordering needs to see earlier rows per recipient)."""
THREADED_CHANNELS = ("email", "telegram")
"""Channels where a message can answer an earlier one (webhooks carry ids in their JSON instead)."""


def growth_hash(growth: list[Any]) -> str | None:
    """A fingerprint of the curve a growth chart draws; None when there is no chart to draw.

    The assessment stores a reading every few minutes whether or not anything changed, so the
    times always move on; the curve is the sequence of counts with repeats folded ("3, 12, 12, 12"
    is the picture "3, 12"): a chart that would only stretch a flat line is not sent again.
    """
    if len(growth) < 2:
        return None
    counts: list[str] = []
    for row in growth:
        value = str(row[1]) if isinstance(row, list | tuple) and len(row) > 1 else str(row)
        if not counts or counts[-1] != value:
            counts.append(value)
    return hashlib.sha256(json.dumps(counts).encode()).hexdigest()[:32]


def find_thread(session: Session, issue_id: int, channel: str, recipient: str) -> AlertThread | None:
    """The recipient's thread about an issue, if a message about it was already sent there."""
    return session.scalar(
        select(AlertThread).where(
            AlertThread.issue_id == issue_id, AlertThread.channel == channel, AlertThread.recipient == recipient
        )
    )


def _threaded(alert: Alert, delivery: Delivery) -> bool:
    return alert.issue_id is not None and alert.kind in THREAD_KINDS and delivery.channel in THREADED_CHANNELS


@dataclass
class DeliveryReport:
    """What one run did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    """Temporary failures: will be retried after a backoff."""
    dead: int = 0
    """Permanent failures or out of retries: marked dead and shown to admins."""
    deferred: int = 0
    """Claimed but put back because an earlier delivery to the same recipient failed in this run."""
    lost: int = 0
    """Claimed, but another sender took the row over (this one stalled past its lease): not sent here."""
    errors: list[str] = field(default_factory=list)


def backoff_seconds(attempt: int, retry: RetrySettings, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with jitter (half fixed, half random), never shorter than the channel asked."""
    ceiling = min(retry.max_seconds, retry.base_seconds * (2 ** max(attempt - 1, 0)))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def _claim(db: Database, config: Directory, now: datetime, limit: int, owner: str) -> list[int]:
    lease = timedelta(seconds=config.alerts.retry.lease_seconds)
    with db.session() as session:
        q = (
            select(Delivery)
            .where(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.SENDING)))
            .order_by(Delivery.id)
            .limit(SCAN_LIMIT)
        )
        if not db.is_sqlite:
            # Two workers never claim the same row; SQLite gets the same from BEGIN IMMEDIATE.
            q = q.with_for_update(skip_locked=True)
        blocked: set[tuple[str, str]] = set()
        claimed: list[int] = []
        for d in session.scalars(q):
            key = (d.channel, d.recipient)
            if key in blocked:
                continue
            due = d.next_attempt_at <= now
            if not due:
                # A row held back on purpose (quiet hours) does not block others; a failing or in-flight one does.
                if d.attempts > 0 or d.status == DeliveryStatus.SENDING:
                    blocked.add(key)
                continue
            if len(claimed) >= limit:
                break
            if d.status == DeliveryStatus.SENDING:
                session.add(
                    DeliveryAttempt(
                        delivery_id=d.id,
                        at=now,
                        ok=False,
                        error="pengiriman sebelumnya terputus (proses berhenti); dikirim ulang, mungkin ganda",
                    )
                )
            d.status = DeliveryStatus.SENDING
            d.attempts += 1
            d.next_attempt_at = now + lease
            d.lease_owner = owner
            claimed.append(d.id)
    return claimed


def build_message(
    session: Session,
    config: Directory,
    delivery: Delivery,
    chart_cache: dict[int, Any],
    now: datetime | None = None,
) -> OutgoingMessage:
    """Render a delivery's alert for its channel (links signed now; payload frozen at decision time).

    ``now`` decides whether a WhatsApp recipient's 24-hour conversation window is still open.
    """
    alert = session.get(Alert, delivery.alert_id)
    if alert is None:
        raise PermanentFailure(f"peringatan #{delivery.alert_id} tidak ada lagi di basis data")
    payload = dict(alert.payload)
    dash = config.alerts.dashboard_url.rstrip("/")
    issue_url = f"{dash}/issues/{alert.issue_id}" if alert.issue_id is not None else None
    acknowledgeable = alert.kind not in ("digest", "source_health", "delivery_failed", "info")
    has_posts = bool(payload.get("posts")) and alert.issue_id is not None
    # WhatsApp gateways have no buttons: the signed link is how their readers confirm.
    linked = delivery.channel in ("email", "whatsapp")
    ack_link = sign_ack_link(config, alert.ack_token) if acknowledgeable and linked else None
    actions: dict[str, str] = {}
    if delivery.channel == "email" and acknowledgeable and alert.issue_id is not None:
        # The answer's steps, each a confirmation page that acts only on its POST (as the Terima link).
        for code, label in STATUS_LINK_LABELS:
            link = sign_ack_link(config, alert.ack_token, code)
            if link:
                actions[label] = link
    feedback: dict[str, str] = {}
    if has_posts and delivery.channel == "email":
        for code, label in FEEDBACK_LABELS.items():
            # "Bukan keluhan" and "Salah dinas" are steps of the answer now (above); "Bukan OKI" stays a label.
            link = None if (actions and code in ("n", "d")) else sign_ack_link(config, alert.ack_token, code)
            if link:
                feedback[label] = link
    thread = (
        find_thread(session, alert.issue_id, delivery.channel, delivery.recipient)
        if (alert.issue_id is not None and _threaded(alert, delivery))
        else None
    )
    chart_key = growth_hash(payload.get("growth") or [])
    # The same picture again tells nothing new: a chart goes only when its data differs from the last one sent.
    with_chart = chart_key is not None and (thread is None or thread.chart_hash != chart_key)
    rendered = render(
        payload,
        Links(dashboard=dash, issue=issue_url, ack=ack_link, feedback=feedback, actions=actions),
        subject=thread.subject if thread is not None else None,
        chart=with_chart,
    )
    buttons: list[tuple[Button, ...]] = []
    if delivery.channel == "telegram" and acknowledgeable and alert.issue_id is not None:
        # Telegram answers in the chat: Terima, Diproses, Selesai, Salah dinas, Bukan keluhan, Tunda (alerts.buttons).
        buttons.extend(status_keyboard(alert.ack_token))
        if has_posts:
            buttons.append((Button(FEEDBACK_LABELS["o"], callback_data=f"fb:o:{alert.ack_token}"),))
    elif acknowledgeable:
        buttons.append((Button("✅ Tindak lanjuti", callback_data=f"ack:{alert.ack_token}"),))
    if has_posts and not (delivery.channel == "telegram" and acknowledgeable and alert.issue_id is not None):
        buttons.append(
            tuple(
                Button(label, callback_data=f"fb:{code}:{alert.ack_token}") for code, label in FEEDBACK_LABELS.items()
            )
        )
    if dash.startswith("https://") and issue_url:
        # Telegram refuses URL buttons to plain-http or internal hosts, so only a public https dashboard gets one.
        buttons.append((Button("Buka dasbor", url=issue_url),))
    if with_chart and alert.id not in chart_cache:
        from alerts.chart import growth_chart  # matplotlib is heavy: load it only when a chart is drawn

        chart_cache[alert.id] = growth_chart(payload.get("growth") or [])
    return OutgoingMessage(
        idempotency_key=delivery.idempotency_key,
        subject=rendered.subject,
        plain=rendered.plain,
        html=rendered.html,
        telegram_html=rendered.telegram,
        chart_png=chart_cache.get(alert.id) if with_chart else None,
        chart_caption=rendered.chart_caption,
        buttons=tuple(buttons),
        reply_to=thread.external_id if thread is not None else None,
        whatsapp_text=rendered.whatsapp,
        whatsapp_short=rendered.whatsapp_short,
        template_params=rendered.template_params,
        conversation_open=(
            delivery.channel == "whatsapp" and now is not None and conversation_open(session, delivery.recipient, now)
        ),
        json_body={
            "alert_id": alert.id,
            "kind": alert.kind,
            "stage": alert.stage,
            "issue": payload.get("issue"),
            "parent_alert_id": alert.parent_alert_id,
            "created_at": alert.created_at.isoformat(),
            "dashboard_url": issue_url or dash,
            "spread": payload.get("spread"),
        },
    )


def _still_mine(db: Database, delivery_id: int, owner: str, now: datetime, lease_seconds: float) -> bool:
    """Renew this sender's lease on a claimed row right before sending; False if it is not ours any more."""
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.lease_owner == owner,
            )
            .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def _record(
    db: Database,
    delivery_id: int,
    now: datetime,
    *,
    ok: bool,
    external_id: str | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    permanent: bool = False,
    config: Directory,
    rng: random.Random,
    sent: OutgoingMessage | None = None,
    owner: str | None = None,
) -> str:
    retry = config.alerts.retry
    with db.session() as session:
        d = session.get(Delivery, delivery_id)
        if d is None:
            return "missing"
        session.add(DeliveryAttempt(delivery_id=d.id, at=now, ok=ok, error=error, retry_after=retry_after))
        if not ok and owner is not None and d.lease_owner != owner:
            # Another sender claimed the row after this one's lease ran out: its outcome decides the status.
            return "superseded"
        if ok:
            d.status, d.sent_at, d.external_id, d.last_error = DeliveryStatus.SENT, now, external_id, None
            if sent is not None:
                _remember_thread(session, d, sent, now)
            return "sent"
        d.last_error = error
        too_old = now - d.created_at >= timedelta(hours=retry.max_age_hours)
        if permanent or d.attempts >= retry.max_attempts or too_old:
            d.status = DeliveryStatus.DEAD
            if not permanent:
                d.last_error = f"{error} (menyerah setelah {d.attempts} percobaan)"
            _tell_admins(session, config, d, now)
            return "dead"
        d.status = DeliveryStatus.FAILED
        d.next_attempt_at = now + timedelta(seconds=backoff_seconds(d.attempts, retry, retry_after, rng))
        return "failed"


def _remember_thread(session: Session, delivery: Delivery, message: OutgoingMessage, now: datetime) -> None:
    """In the transaction that marks a delivery sent: start the recipient's thread, or note its new chart.

    A group message starts the thread of every issue it lists, so a later update of one of them
    answers the group message under that issue's own subject.
    """
    alert = session.get(Alert, delivery.alert_id)
    if alert is None or delivery.channel not in THREADED_CHANNELS:
        return
    if alert.kind == "group":
        starts = [(int(i["id"]), thread_subject(i)) for i in alert.payload.get("group", []) if i.get("id") is not None]
    elif _threaded(alert, delivery) and alert.issue_id is not None:
        starts = [(alert.issue_id, message.subject)]
    else:
        return
    chart_key = growth_hash(alert.payload.get("growth") or []) if message.chart_png else None
    for issue_id, subject in starts:
        thread = find_thread(session, issue_id, delivery.channel, delivery.recipient)
        if thread is not None:
            if chart_key is not None:
                thread.chart_hash, thread.updated_at = chart_key, now
            continue
        row = AlertThread(
            issue_id=issue_id,
            channel=delivery.channel,
            recipient=delivery.recipient,
            receiver=alert.receiver,
            first_alert_id=alert.id,
            external_id=delivery.external_id,
            subject=subject[:300],
            chart_hash=chart_key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another worker started this thread a moment ago: its first message stays the first.
            log.info("thread of issue %s to %s %s already started", issue_id, delivery.channel, delivery.recipient)


def _tell_admins(session: Session, config: Directory, delivery: Delivery, now: datetime) -> None:
    """Queue a notice to the admins about a dead delivery, in the same transaction that marks it dead."""
    from alerts.source_health import admin_receiver

    alert = session.get(Alert, delivery.alert_id)
    # Never report a failed report: a broken admin channel must not feed itself.
    if alert is None or alert.kind == "delivery_failed":
        return
    queue_alert(
        session,
        config,
        receiver=admin_receiver(config),
        kind="delivery_failed",
        now=now,
        payload={
            "failure": {
                "delivery_id": delivery.id,
                "alert_id": alert.id,
                "issue_id": alert.issue_id,
                "issue_title": (alert.payload.get("issue") or {}).get("title"),
                "receiver": alert.payload.get("receiver_name") or alert.receiver,
                "channel": delivery.channel,
                "recipient": delivery.recipient,
                "error": delivery.last_error,
            }
        },
        agency_code=alert.agency_code,
    )


def _release(db: Database, delivery_id: int, now: datetime, owner: str) -> None:
    """Give back a claimed row untouched (an earlier delivery to its recipient just failed)."""
    with db.session() as session:
        d = session.get(Delivery, delivery_id)
        if d is not None and d.status == DeliveryStatus.SENDING and d.lease_owner == owner:
            d.attempts -= 1
            d.status = DeliveryStatus.FAILED if d.attempts > 0 else "pending"
            d.next_attempt_at = now


def deliver_due(
    db: Database,
    config: Directory,
    now: datetime,
    *,
    limit: int = 100,
    channels: dict[str, Channel] | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Claim due deliveries, send each through its channel, record every attempt and outcome.

    ``clock`` (the service's) renews each lease at the moment of its send; without it every
    lease is counted from ``now``.
    """
    rng = rng or random.Random()
    report = DeliveryReport()
    owner = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease_seconds = config.alerts.retry.lease_seconds
    ids = _claim(db, config, now, limit, owner)
    report.claimed = len(ids)
    if not ids:
        return report
    owned: dict[str, Channel] = {}
    chart_cache: dict[int, Any] = {}
    failing: set[tuple[str, str]] = set()
    try:
        for delivery_id in ids:
            problem: str | None = None
            with db.session() as session:
                d = session.get(Delivery, delivery_id)
                if d is None:
                    continue
                key = (d.channel, d.recipient)
                if key not in failing:
                    try:
                        message = build_message(session, config, d, chart_cache, now)
                    except PermanentFailure as exc:
                        problem = str(exc)
            # Outcomes are written in their own transactions, after the read session is closed.
            # Every failed attempt is recorded against this sender's lease (``owner``), so one that
            # lost the row to another sender does not overwrite that sender's outcome.
            failed = functools.partial(_record, db, delivery_id, now, ok=False, config=config, rng=rng, owner=owner)
            if key in failing:
                report.deferred += 1
                _release(db, delivery_id, now, owner)
                continue
            if not _still_mine(db, delivery_id, owner, clock() if clock else now, lease_seconds):
                report.lost += 1
                continue
            if problem is not None:
                report.dead += 1
                report.errors.append(problem)
                failed(error=problem, permanent=True)
                continue
            try:
                channel = (channels or {}).get(key[0]) or owned.get(key[0])
                if channel is None:
                    channel = owned[key[0]] = load_channel(key[0], config)
                external_id = channel.send(message, key[1])
            except TemporaryFailure as exc:
                failing.add(key)
                outcome = failed(error=str(exc), retry_after=exc.retry_after)
            except (PermanentFailure, ValueError) as exc:
                outcome = failed(error=str(exc), permanent=True)
            except Exception as exc:  # a channel bug must not stop the other deliveries
                log.exception("channel %s crashed on delivery %s", key[0], delivery_id)
                failing.add(key)
                outcome = failed(error=f"galat internal: {exc!r}")
            else:
                outcome = _record(
                    db, delivery_id, now, ok=True, external_id=external_id, config=config, rng=rng, sent=message
                )
            if outcome == "sent":
                report.sent += 1
            elif outcome == "dead":
                report.dead += 1
            elif outcome == "failed":
                report.failed += 1
    finally:
        for ch in owned.values():
            ch.close()
    return report
