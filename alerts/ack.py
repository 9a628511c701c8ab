"""Acknowledgement (from Telegram, a signed e-mail link or the dashboard) and one-tap label feedback.

An acknowledgement is recorded for the receiver whose message was confirmed: its alerts
about the issue (first, updates, repeats) are marked, another receiver's copies are not
(Diskominfo confirming its own copy is not PUPR confirming). The issue itself counts as
acknowledged, which stops escalation for every receiver, when the responsible agency
confirms, or the escalation target confirms the escalation it received (taking it over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.directory import Directory
from monitor.kernel.config import secret
from monitor.store.ledger import record_acknowledged
from monitor.store.models import Alert, AuditLog, Issue, IssueEvent, LabelCorrection, Post

_SALT = "oki-alert-action"
LINK_MAX_AGE_DAYS = 30

FEEDBACK = {
    "n": ("is_complaint", "false", "bukan keluhan"),
    "o": ("relevant", "false", "bukan tentang OKI"),
    "d": ("agency", "salah_dinas", "salah dinas"),
}
"""Feedback button code → (LabelCorrection.field, value, what the user is told)."""


class AckError(LookupError):
    """The acknowledgement could not be applied; the message is for the person who pressed."""


@dataclass(frozen=True)
class LinkAction:
    token: str
    action: str
    """'ack' or a feedback code (n, o, d)."""


def _serializer(config: Directory) -> URLSafeTimedSerializer | None:
    key = secret(config.alerts.ack_secret_env)
    return URLSafeTimedSerializer(key, salt=_SALT) if key else None


def sign_ack_link(config: Directory, token: str, action: str = "ack") -> str | None:
    """A signed dashboard URL that acknowledges (or gives feedback on) an alert; None without a key."""
    ser = _serializer(config)
    if ser is None:
        return None
    signed = ser.dumps({"t": token, "a": action})
    return f"{config.alerts.dashboard_url.rstrip('/')}/alerts/action/{signed}"


def verify_ack_link(config: Directory, signed: str, *, max_age_days: int = LINK_MAX_AGE_DAYS) -> LinkAction:
    """Check a signed link and return what it asks for; raise :class:`AckError` when it is bad or old."""
    ser = _serializer(config)
    if ser is None:
        raise AckError("Tautan tidak dapat diperiksa: kunci rahasia server belum diatur.")
    try:
        data = ser.loads(signed, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise AckError("Tautan sudah kedaluwarsa. Silakan konfirmasi lewat dasbor.") from None
    except BadSignature:
        raise AckError("Tautan tidak sah atau rusak. Silakan konfirmasi lewat dasbor.") from None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise AckError("Tautan tidak sah. Silakan konfirmasi lewat dasbor.")
    return LinkAction(token=data["t"], action=str(data.get("a", "ack")))


def find_by(session: Session, token: str | None, alert_id: int | None) -> Alert:
    alert = None
    if token:
        alert = session.scalar(select(Alert).where(Alert.ack_token == token))
    elif alert_id is not None:
        alert = session.get(Alert, alert_id)
    if alert is None:
        raise AckError("Peringatan tidak ditemukan (tautan/tombol lama atau salah).")
    return alert


def find_alert(session: Session, token: str) -> Alert:
    """The alert with this ack token; :class:`AckError` when there is none."""
    return find_by(session, token, None)


def acknowledge(
    session: Session,
    *,
    token: str | None = None,
    alert_id: int | None = None,
    actor: str,
    now: datetime,
    config: Directory | None = None,
    channel: str = "sistem",
) -> Alert:
    """Mark an alert and its receiver's other alerts about the same issue(s) acknowledged; idempotent.

    The issue is marked too when :func:`speaks_for_issue` says this receiver may confirm it, and
    its answer becomes ``diterima`` (``alerts.respond``; ``channel`` says where it was pressed).
    ``config`` names the agency of configured receivers (``humas`` → Diskominfo); without it only
    ``agency:<code>`` receivers are known.
    """
    alert = find_by(session, token, alert_id)
    issue_ids = {alert.issue_id} if alert.issue_id is not None else set()
    if alert.kind == "group" or (alert.kind == "escalation" and alert.issue_id is None):
        # A group, or the escalation of one, stands for the issues it lists.
        issue_ids |= {int(i["id"]) for i in alert.payload.get("group", []) if i.get("id") is not None}
    related = [alert]
    if issue_ids:
        related += list(
            session.scalars(select(Alert).where(Alert.issue_id.in_(issue_ids), Alert.receiver == alert.receiver))
        )
    changed = False
    for a in related:
        if a.acknowledged_at is None:
            a.acknowledged_at = now
            a.acknowledged_by = actor
            changed = True
    for iid in sorted(issue_ids):
        issue = session.get(Issue, iid)
        if issue is None or not speaks_for_issue(alert, issue, config):
            continue
        # After a regression the issue is acknowledged from before, but its answer starts again.
        record_acknowledged(session, issue, actor, channel, now)
        if issue.acknowledged_at is not None:
            continue
        issue.acknowledged_at = now
        issue.acknowledged_by = actor
        session.add(
            IssueEvent(
                issue_id=iid,
                at=now,
                kind="acknowledged",
                detail={"alert_id": alert.id, "receiver": alert.receiver},
                actor=actor,
            )
        )
    if changed:
        session.add(
            AuditLog(
                at=now,
                actor=actor,
                action="alert.acknowledge",
                target=f"alert:{alert.id}",
                detail={"receiver": alert.receiver, "issues": sorted(issue_ids)},
            )
        )
    session.flush()
    return alert


def receiver_agency(receiver: str, config: Directory | None) -> str | None:
    """The agency code a receiver speaks for: ``agency:pupr`` → ``pupr``; a named receiver's ``agency``."""
    if receiver.startswith("agency:"):
        return receiver.removeprefix("agency:")
    named = config.alerts.receiver(receiver) if config is not None else None
    return named.agency if named is not None else None


def speaks_for_issue(alert: Alert, issue: Issue, config: Directory | None) -> bool:
    """May confirming ``alert`` count as the issue's acknowledgement (stopping escalation for all)?

    Yes for the responsible agency (the issue's agency, as routed when the alert was made) and for
    the escalation target answering an escalation; no for a receiver told for information
    (comms hearing of a viral issue), whose confirmation covers only its own copies.
    """
    if alert.payload.get("rerouted_to"):
        return False  # the issue went to another agency: an old button no longer speaks for it
    if alert.kind == "escalation":
        return True
    agency = receiver_agency(alert.receiver, config)
    return agency is not None and agency == (alert.agency_code or issue.agency_code)


def feedback_target(alert: Alert, code: str) -> tuple[str, str, str]:
    """(LabelCorrection.field, value, what the user is told) for feedback ``code`` on ``alert``."""
    if code not in FEEDBACK:
        raise AckError("Jenis masukan tidak dikenal.")
    field, value, said = FEEDBACK[code]
    if field == "agency":
        value = f"bukan:{alert.agency_code or '?'}"
    return field, value, said


def feedback_pending(session: Session, alert: Alert, field: str, value: str, source: str) -> list[Post]:
    """The alert's example posts (still stored) that do not yet carry this correction from ``source``."""
    post_ids = [int(p["id"]) for p in alert.payload.get("posts", []) if p.get("id") is not None]
    pending: list[Post] = []
    for pid in post_ids:
        exists = session.scalar(
            select(LabelCorrection.id).where(
                LabelCorrection.post_id == pid,
                LabelCorrection.field == field,
                LabelCorrection.value == value,
                LabelCorrection.source == source,
            )
        )
        post = session.get(Post, pid)
        if exists is None and post is not None:
            pending.append(post)
    return pending


def record_feedback(
    session: Session, *, token: str, code: str, actor: str, now: datetime, source: str = "telegram"
) -> str:
    """Store one-tap feedback as label corrections for the alert's example posts; return the reply text."""
    alert = find_by(session, token, None)
    field, value, said = feedback_target(alert, code)
    added = 0
    for post in feedback_pending(session, alert, field, value, source):
        session.add(
            LabelCorrection(post_id=post.id, field=field, value=value, text=post.text, source=source, created_at=now)
        )
        added += 1
    session.add(
        AuditLog(at=now, actor=actor, action="alert.feedback", target=f"alert:{alert.id}", detail={"code": code})
    )
    session.flush()
    return f"Terima kasih, masukan “{said}” dicatat untuk {added} unggahan."


# ---------------------------------------------------------------- e-mail links: look (GET), then act (POST)


