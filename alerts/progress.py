"""What agencies have done on issues, read from the database for the LAPOR! clocks (:mod:`alerts.sla`).

One place reads the facts, so the board, escalation, ``/kinerja`` and the weekly brief agree:

* acknowledged — ``issues.acknowledged_at`` (Terima on the dashboard, Telegram or e-mail);
* first response — the first ``diproses`` step in the timeline, or else the first government
  response found among the issue's posts (``issue_posts.is_response``: a statement or action);
* finished — a ``selesai`` step, or the issue resolved by the agency (``issues.resolved_at``);
* stopped — the issue moved to another agency (``salah_dinas``/reroute) or was judged ``bukan_keluhan``.

Timeline kinds of the status workflow are read when present (``status`` events with
``detail.status``, and ``rerouted``), so the numbers follow the workflow as soon as it writes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.sla import Progress
from monitor.store.models import Issue, IssueEvent, IssuePost

STATUS_EVENT_KINDS = ("status", "diterima", "diproses", "selesai", "bukan_keluhan", "salah_dinas", "rerouted")
"""Timeline kinds a status workflow may write; ``acknowledged`` and ``resolved`` exist already."""


def _status_of(kind: str, detail: dict[str, object]) -> str:
    if kind == "status":
        return str(detail.get("status") or detail.get("to") or "")
    if kind == "rerouted":
        return "salah_dinas"
    return kind


def issue_progress(session: Session, issue_ids: Iterable[int], *, since: datetime | None = None) -> dict[int, Progress]:
    """Progress of each issue (three queries whatever the number of issues).

    ``since``: facts before it do not count (a regression starts the clocks again).
    """
    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    out: dict[int, Progress] = {}
    for issue_id, acked, resolved in session.execute(
        select(Issue.id, Issue.acknowledged_at, Issue.resolved_at).where(Issue.id.in_(ids))
    ):
        out[issue_id] = Progress(acknowledged_at=acked, finished_at=resolved)
    responses = dict(
        session.execute(
            select(IssuePost.issue_id, func.min(IssuePost.post_created_at))
            .where(IssuePost.issue_id.in_(ids), IssuePost.is_response.is_(True))
            .group_by(IssuePost.issue_id)
        ).all()
    )
    steps: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for issue_id, kind, at, detail in session.execute(
        select(IssueEvent.issue_id, IssueEvent.kind, IssueEvent.at, IssueEvent.detail)
        .where(IssueEvent.issue_id.in_(ids), IssueEvent.kind.in_([*STATUS_EVENT_KINDS, "acknowledged", "resolved"]))
        .order_by(IssueEvent.at)
    ):
        steps[issue_id][_status_of(kind, detail or {})].append(at)

    def first(*times: datetime | list[datetime] | None) -> datetime | None:
        flat: list[datetime] = []
        for t in times:
            flat.extend(t if isinstance(t, list) else ([t] if t is not None else []))
        kept = [t for t in flat if since is None or t >= since]
        return min(kept) if kept else None

    for issue_id, p in list(out.items()):
        s = steps.get(issue_id, {})
        out[issue_id] = Progress(
            acknowledged_at=first(p.acknowledged_at, s.get("diterima", []), s.get("acknowledged", [])),
            responded_at=first(s.get("diproses", []), responses.get(issue_id)),
            finished_at=first(p.finished_at, s.get("selesai", []), s.get("resolved", [])),
            stopped_at=first(s.get("salah_dinas", []), s.get("bukan_keluhan", [])),
        )
    return out


def after(p: Progress, since: datetime) -> Progress:
    """Only the steps at or after ``since`` (an issue that came back needs them again)."""

    def keep(t: datetime | None) -> datetime | None:
        return t if t is not None and t >= since else None

    return replace(
        p,
        acknowledged_at=keep(p.acknowledged_at),
        responded_at=keep(p.responded_at),
        finished_at=keep(p.finished_at),
        stopped_at=keep(p.stopped_at),
    )


def agency_progress(session: Session, issue_ids: Iterable[int]) -> dict[tuple[int, str], Progress]:
    """Per (issue, agency), the agency's own steps from the status workflow's history (``issue_responses``).

    An issue handed from agency A to B keeps A's steps for A (its clock stopped at the move) and B's for B,
    so B's answer never counts as A's. Issues without history rows are absent (callers fall back to
    :func:`issue_progress`).
    """
    from monitor.store.models import IssueResponse  # the status workflow's table

    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    steps: dict[tuple[int, str], dict[str, datetime]] = defaultdict(dict)
    for issue_id, agency, kind, status, at in session.execute(
        select(
            IssueResponse.issue_id,
            IssueResponse.agency_code,
            IssueResponse.kind,
            IssueResponse.status,
            IssueResponse.at,
        )
        .where(IssueResponse.issue_id.in_(ids), IssueResponse.agency_code.is_not(None))
        .order_by(IssueResponse.at, IssueResponse.id)
    ):
        key = (issue_id, str(agency))
        step = "salah_dinas" if kind == "rerouted" else (status if kind == "status" else kind)
        steps[key].setdefault(step, at)
    out: dict[tuple[int, str], Progress] = {}
    for key, s in steps.items():

        def first(*names: str, s: dict[str, datetime] = s) -> datetime | None:
            found = [s[n] for n in names if n in s]
            return min(found) if found else None

        out[key] = Progress(
            acknowledged_at=first("diterima", "diproses", "selesai"),
            responded_at=first("diproses", "selesai"),
            finished_at=first("selesai"),
            stopped_at=first("salah_dinas", "bukan_keluhan"),
        )
    return out
