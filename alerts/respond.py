"""Apply an agency's answer to an issue: the thin, stateful side of :mod:`monitor.domain.response`.

Every function takes the caller's open session (one transaction with whatever else the
request does) and an injected ``now``; access has been checked by the caller (dashboard,
API, Telegram, e-mail). A refused step raises :class:`RespondError` carrying the
:class:`~monitor.domain.response.Refusal` (its message names the field, in Bahasa Indonesia).

Each applied step writes an ``issue_responses`` row (the performance figures read these) and
an ``issue_events`` row (the issue's timeline; kind ``status`` with ``detail.status`` for a status
step), and bumps ``issues.updated_at`` so every dashboard worker shows it on the next view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.directory import Directory
from monitor.domain import response as rules
from monitor.store.ledger import record, record_acknowledged, resolve_issue
from monitor.store.models import (
    Alert,
    Issue,
    IssueEvent,
    IssuePost,
    IssueResponse,
    IssueStatus,
    LabelCorrection,
    Post,
    Silence,
)

CHANNELS: tuple[str, ...] = ("dashboard", "api", "telegram", "email", "sistem")


class RespondError(ValueError):
    """A step refused by the rules; ``refusal.field`` names the input at fault."""

    def __init__(self, refusal: rules.Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal

    @property
    def field(self) -> str:
        return self.refusal.field


def _own(config: Directory, issue: Issue) -> None:
    # An issue grouped without an agency is its topic's agency's (as routing treats it): name it before answering.
    if issue.agency_code is None:
        issue.agency_code = config.routing.get(issue.topic)


def _acknowledge(session: Session, config: Directory, issue: Issue, actor: str, channel: str, now: datetime) -> None:
    from alerts.ack import acknowledge  # alerts.ack records the step itself through record_acknowledged

    pending = session.scalars(
        select(Alert.id).where(Alert.issue_id == issue.id, Alert.acknowledged_at.is_(None)).order_by(Alert.id)
    ).all()
    for alert_id in pending:
        acknowledge(session, alert_id=alert_id, actor=actor, now=now, config=config, channel=channel)
    if issue.acknowledged_at is None:
        issue.acknowledged_at, issue.acknowledged_by = now, actor[:100]
        session.add(
            IssueEvent(issue_id=issue.id, at=now, kind="acknowledged", detail={"alerts": len(pending)}, actor=actor)
        )
    record_acknowledged(session, issue, actor, channel, now)


def _not_a_complaint(session: Session, issue: Issue, channel: str, now: datetime, limit: int = 20) -> int:
    """Teach the classifier: the issue's own complaint posts are no complaint (like the old one-tap feedback)."""
    posts = session.scalars(
        select(Post)
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(IssuePost.issue_id == issue.id, IssuePost.is_spread.is_(False), IssuePost.is_response.is_(False))
        .order_by(Post.id)
        .limit(limit)
    ).all()
    source = channel if channel in ("dashboard", "telegram", "email") else "dashboard"
    for post in posts:
        text = "\n".join(t for t in (post.title, post.text) if t) or None
        session.add(
            LabelCorrection(
                post_id=post.id, field="is_complaint", value="false", text=text, source=source, created_at=now
            )
        )
    return len(posts)


def set_status(
    session: Session,
    config: Directory,
    issue: Issue,
    status: str,
    note: str | None,
    *,
    actor: str,
    channel: str,
    now: datetime,
    evidence_url: str | None = None,
) -> rules.Step:
    """Move the issue's answer to ``status`` (diterima, diproses, selesai, bukan_keluhan)."""
    config = config.for_region(issue.region_code)  # its region's agencies answer it
    _own(config, issue)
    step = rules.decide_status(
        issue.response_status or rules.BELUM, status, note, issue_status=issue.status, evidence_url=evidence_url
    )
    if isinstance(step, rules.Refusal):
        raise RespondError(step)
    if step.noop:
        return step
    if step.acknowledges and (issue.acknowledged_at is None or issue.response_status == rules.BELUM):
        _acknowledge(session, config, issue, actor, channel, now)
    if step.status == rules.DITERIMA:
        return step
    record(
        session,
        issue,
        kind="status",
        status=step.status,
        actor=actor,
        channel=channel,
        now=now,
        note=step.note,
        evidence_url=step.evidence_url,
    )
    if step.status == rules.SELESAI and issue.status != IssueStatus.RESOLVED:
        resolve_issue(session, issue.id, actor, now)
    elif step.status == rules.BUKAN_KELUHAN and issue.status == IssueStatus.OPEN:
        issue.status, issue.closed_at = "closed", now
        _not_a_complaint(session, issue, channel, now)
    return step


def agency_choices(config: Directory) -> list[tuple[str, str]]:
    """(code, name) of every configured agency, in config order: the reroute picker's list."""
    return [(a.code, a.name) for a in config.agencies]


def reroute(
    session: Session,
    config: Directory,
    issue: Issue,
    agency: str | None,
    note: str | None,
    *,
    actor: str,
    channel: str,
    now: datetime,
) -> rules.Reroute:
    """Hand the issue to the agency named (by name or code); tell it at once; stop the old agency's clock.

    The history stays with the issue; the old agency's unanswered alerts stop escalating; the
    new agency gets a ``first`` alert now (e-mail and Telegram in the next delivery pass) and
    must acknowledge it itself.
    """
    from alerts.engine import tell_rerouted

    config = config.for_region(issue.region_code)  # handed to another agency of its own region
    _own(config, issue)
    step = rules.decide_reroute(
        issue.response_status or rules.BELUM,
        issue.agency_code,
        agency,
        note,
        agency_choices(config),
        issue_status=issue.status,
    )
    if isinstance(step, rules.Refusal):
        raise RespondError(step)
    record(
        session,
        issue,
        kind="rerouted",
        status=rules.SALAH_DINAS,
        actor=actor,
        channel=channel,
        now=now,
        agency=step.from_agency,
        note=step.note,
        to_agency=step.to_agency,
    )
    for old in session.scalars(select(Alert).where(Alert.issue_id == issue.id)):
        if old.agency_code == step.from_agency and not old.payload.get("rerouted_to"):
            old.payload = {**old.payload, "rerouted_to": step.to_agency}
    issue.agency_code = step.to_agency
    issue.acknowledged_at = issue.acknowledged_by = None
    issue.assigned_at = now
    record(session, issue, kind="assigned", status=rules.BELUM, actor=actor, channel=channel, now=now)
    session.flush()
    from_name = next((n for c, n in agency_choices(config) if c == step.from_agency), step.from_agency)
    tell_rerouted(
        session,
        config,
        issue,
        {"from_agency": step.from_agency, "from_name": from_name, "note": step.note, "by": actor},
        now,
    )
    return step


def snooze(
    session: Session,
    issue: Issue,
    hours: object,
    note: str | None,
    *,
    actor: str,
    channel: str,
    now: datetime,
) -> Silence:
    """Mute the issue's alerts for ``hours`` (an agency's own issue, 1-72 h, with a reason).

    Deadlines keep running: a snooze quiets repeats and updates, it does not stop escalation.
    """
    step = rules.decide_snooze(issue.response_status or rules.BELUM, hours, note, issue_status=issue.status)
    if isinstance(step, rules.Refusal):
        raise RespondError(step)
    until = now + timedelta(hours=step.hours)
    row = Silence(
        matchers={"issue_id": [str(issue.id)]},
        starts_at=now,
        ends_at=until,
        until_escalation=False,
        created_by=actor[:100],
        comment=step.note,
    )
    session.add(row)
    record(
        session,
        issue,
        kind="snoozed",
        status=issue.response_status or rules.BELUM,
        actor=actor,
        channel=channel,
        now=now,
        note=step.note,
        until=until,
    )
    session.flush()
    return row


def history(session: Session, issue_id: int) -> list[IssueResponse]:
    """The issue's answer step by step, oldest first."""
    return list(
        session.scalars(
            select(IssueResponse).where(IssueResponse.issue_id == issue_id).order_by(IssueResponse.at, IssueResponse.id)
        )
    )
