"""Time to acknowledge and time to resolve, per agency, read from the alert history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.ack import receiver_agency
from alerts.directory import Directory
from alerts.engine import alert_deadlines
from alerts.progress import issue_progress
from alerts.sla import overdue as clocks_overdue
from monitor.store.models import Alert, AlertKind, Issue, IssueStatus

ROOTS = ("first", "crisis", "group", "regression")


@dataclass(frozen=True)
class AgencyTimes:
    agency: str
    alerts: int
    acknowledged: int
    median_ack_minutes: float | None
    resolved: int
    median_resolve_hours: float | None
    overdue: int
    """Open issues with a LAPOR! clock past its deadline and not met (each issue once, however many were told)."""


def agency_times(
    session: Session,
    now: datetime,
    since: datetime | None = None,
    config: Directory | None = None,
    region: str | None = None,
) -> dict[str, AgencyTimes]:
    """Per agency: how fast alerts were acknowledged and issues resolved (medians), and SLA misses.

    With `region`, only that region's alerts (its ``pupr`` is not another regency's ``pupr``).

    Only alerts told to the agency itself count: comms hearing of the same issue (its alert carries
    the issue's agency code too) confirms for itself, not for the agency.
    """
    q = select(Alert).where(Alert.kind.in_(ROOTS), Alert.agency_code.is_not(None))
    if since is not None:
        q = q.where(Alert.created_at >= since)
    if region is not None:
        q = q.where(Alert.region_code == region)
    acks: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    overdue: dict[str, set[int]] = {}
    issues: dict[str, set[int]] = {}
    for a in session.scalars(q):
        if a.payload.get("grouped_into"):
            continue
        if receiver_agency(a.receiver, config) != a.agency_code:
            continue
        code = str(a.agency_code)
        counts[code] = counts.get(code, 0) + 1
        acks.setdefault(code, [])
        if a.acknowledged_at is not None:
            # Count from when the alert could be read (quiet hours may hold it), not from the decision.
            shown = _parse(a.payload.get("deliver_at")) or a.created_at
            acks[code].append(max((a.acknowledged_at - shown).total_seconds(), 0.0) / 60)
        if a.issue_id is not None:
            issues.setdefault(code, set()).add(a.issue_id)
        if a.respond_due_at is not None and a.respond_due_at <= now and not a.payload.get("rerouted_to"):
            # One issue may be told to several receivers (agency and humas) or inside a group: count issues.
            told = [a.issue_id] if a.issue_id is not None else [i.get("id") for i in a.payload.get("group", [])]
            due = alert_deadlines(a)
            fresh = a.kind == AlertKind.REGRESSION or bool(a.payload.get("reroute"))
            for iid in told:
                issue = session.get(Issue, int(iid)) if iid is not None else None
                if issue is None or issue.resolved_at is not None or issue.status != IssueStatus.OPEN:
                    continue
                # Past due means a LAPOR! clock still open past its deadline (acknowledged, then not followed up
                # within the process clock, counts; acknowledged within the response clock alone does not).
                progress = issue_progress(session, [issue.id], since=due.start if fresh else None)[issue.id]
                if clocks_overdue(due, progress, now):
                    overdue.setdefault(code, set()).add(issue.id)
    out: dict[str, AgencyTimes] = {}
    for code, n in counts.items():
        resolve_hours = []
        for iid in issues.get(code, set()):
            issue = session.get(Issue, iid)
            if issue is not None and issue.resolved_at is not None:
                resolve_hours.append((issue.resolved_at - issue.created_at).total_seconds() / 3600)
        out[code] = AgencyTimes(
            agency=code,
            alerts=n,
            acknowledged=len(acks[code]),
            median_ack_minutes=median(acks[code]) if acks[code] else None,
            resolved=len(resolve_hours),
            median_resolve_hours=median(resolve_hours) if resolve_hours else None,
            overdue=len(overdue.get(code, ())),
        )
    return out


def _parse(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def minutes_text(minutes: float | None) -> str:
    """'45 menit' / '3,5 jam' / '-'."""
    if minutes is None:
        return "-"
    if minutes < 90:
        return f"{minutes:.0f} menit"
    return f"{minutes / 60:.1f} jam".replace(".", ",")
