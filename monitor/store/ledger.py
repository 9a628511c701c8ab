"""The issue's answer ledger: every step of an agency's answer as an ``issue_responses`` row and an
``issue_events`` row, and the issue's own status columns kept in step.

The writes only, no rules: :mod:`alerts.respond` decides a step (with :mod:`monitor.domain.response`)
and records it here; the alert engine records the first alert (``assigned``), acknowledgements record
``diterima``, grouping records a regression (``reopened``). Every function takes the caller's open
session and an injected ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.domain import response as rules
from monitor.store.models import Issue, IssueEvent, IssueResponse


def touch(issue: Issue, now: datetime) -> None:
    """Bump ``updated_at``, strictly later, so every dashboard worker shows the change on the next view."""
    # The page cache keys on updated_at: a strictly later value even when the (simulated) clock has not moved.
    issue.updated_at = max(now, issue.updated_at + timedelta(microseconds=1)) if issue.updated_at else now


def record(
    session: Session,
    issue: Issue,
    *,
    kind: str,
    status: str,
    actor: str,
    channel: str,
    now: datetime,
    agency: str | None = None,
    note: str | None = None,
    evidence_url: str | None = None,
    to_agency: str | None = None,
    until: datetime | None = None,
) -> IssueResponse:
    """One step of the answer: an ``issue_responses`` row, its ``issue_events`` row, the issue's status."""
    previous = issue.response_status or rules.BELUM
    row = IssueResponse(
        issue_id=issue.id,
        agency_code=agency if agency is not None else issue.agency_code,
        kind=kind,
        status=status,
        previous_status=previous,
        to_agency=to_agency,
        note=note,
        evidence_url=evidence_url,
        until=until,
        actor=actor[:100],
        channel=channel,
        at=now,
    )
    session.add(row)
    detail: dict[str, Any] = {"status": status, "agency": row.agency_code}
    for key, value in (("note", note), ("evidence_url", evidence_url), ("to_agency", to_agency)):
        if value:
            detail[key] = value
    if until is not None:
        detail["until"] = until.isoformat()
    detail["channel"] = channel
    # Timeline kinds: "status" (detail.status), "reroute" (detail.to_agency), "assigned", "snoozed", "reopened".
    # alerts.progress reads "status" steps for the deadlines; a reroute is not read there as a stop (the new
    # agency's clock runs from its own alert; the old agency's alerts are marked rerouted_to).
    event_kind = "reroute" if kind == "rerouted" else kind
    session.add(IssueEvent(issue_id=issue.id, at=now, kind=event_kind, detail=detail, actor=actor[:100]))
    if kind != "snoozed":
        issue.response_status = status if status != rules.SALAH_DINAS else rules.BELUM
        issue.response_at = now
    touch(issue, now)
    return row


def record_assigned(
    session: Session, issue: Issue, now: datetime, *, actor: str = "sistem", agency: str | None = None
) -> None:
    """The current agency's clock starts (its first alert about the issue); once per agency.

    ``agency``: the agency the alert was routed to, for an issue grouped without one.
    """
    if issue.assigned_at is not None:
        return
    issue.assigned_at = now
    record(session, issue, kind="assigned", status=rules.BELUM, actor=actor, channel="sistem", now=now, agency=agency)


def record_acknowledged(session: Session, issue: Issue, actor: str, channel: str, now: datetime) -> None:
    """The agency (or comms for it) confirmed the issue: ``diterima`` unless it is further already."""
    if (issue.response_status or rules.BELUM) == rules.BELUM:
        record(session, issue, kind="status", status=rules.DITERIMA, actor=actor, channel=channel, now=now)


def record_resolved(session: Session, issue: Issue, actor: str, channel: str, now: datetime) -> None:
    """``selesai`` without a note, for the older resolve paths (the issue is already marked resolved)."""
    record(session, issue, kind="status", status=rules.SELESAI, actor=actor, channel=channel, now=now)


def record_reopened(session: Session, issue: Issue, now: datetime) -> None:
    """A regression: new posts after ``selesai`` reopen the issue for its agency, with a fresh clock."""
    issue.assigned_at = now
    record(session, issue, kind="reopened", status=rules.BELUM, actor="sistem", channel="sistem", now=now)


def resolve_issue(session: Session, issue_id: int, actor: str, now: datetime) -> Issue:
    """The agency says the problem is fixed."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise LookupError(f"isu #{issue_id} tidak ditemukan")
    issue.status, issue.resolved_at, issue.updated_at = "resolved", now, now
    session.add(IssueEvent(issue_id=issue.id, at=now, kind="resolved", detail={}, actor=actor))
    return issue
