"""Backtest: replay stored posts and engagement readings through grouping, assessment and alerting.

A deployment tunes its ``virality:`` parameters on what really happened. The stored posts of a
period (with the labels they were given), their engagement readings and the sources are copied
from the real database, which is only read, into a throw-away SQLite database. A simulated clock
then steps through the period: at each step the posts the monitor had collected by then are
released to grouping, and issues are assessed and alerts decided exactly as the live pipeline
does (:func:`monitor.stages.group.group_new`, :func:`monitor.stages.assess.assess_issues`,
:func:`alerts.engine.evaluate`), with the parameters given.

The outcome per issue (:func:`summarise`, pure) is its first alert, when it became viral, the lead
between the two, and whether an alert was a false one (the issue never became viral within
``follow_hours`` of it).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from monitor.domain.incident import is_response
from monitor.kernel.clock import to_wib
from monitor.kernel.config import AppConfig
from monitor.stages.group import close_quiet, post_text
from monitor.store.db import Database, one_of
from monitor.store.models import Alert, Issue, IssueEvent, Label, Post, PostMetric, Source, table_of

READING_AFTER = timedelta(milliseconds=1)

ALERT_KINDS = ("first", "crisis", "group")
"""Alerts that are a first warning about an issue (updates, repeats and escalations are not)."""


@dataclass(frozen=True, slots=True)
class IssueTimeline:
    """What the replay saw of one issue: its first warning and the first time it was viral."""

    issue_id: int
    title: str
    topic: str
    kecamatan: str | None
    first_alert_at: datetime | None
    viral_at: datetime | None
    alerts: int


@dataclass(frozen=True, slots=True)
class IssueOutcome:
    """One issue's result: lead (minutes, positive when warned before viral) and whether its warning was false."""

    timeline: IssueTimeline
    lead_minutes: float | None
    false_alert: bool
    missed: bool
    """viral without any warning before it"""


@dataclass(frozen=True, slots=True)
class BacktestTotals:
    """The whole period."""

    issues: int
    alerted: int
    viral: int
    warned_early: int
    missed: int
    false_alerts: int
    median_lead_minutes: float | None


def summarise(
    timelines: Sequence[IssueTimeline], follow_hours: float = 48.0
) -> tuple[list[IssueOutcome], BacktestTotals]:
    """Per issue lead and false alerts, and the totals (pure).

    An alert is early when it came before the issue was viral; it is false when the issue did not
    become viral within ``follow_hours`` of it (an alert on an issue already viral is neither).
    """
    outcomes: list[IssueOutcome] = []
    leads: list[float] = []
    for tl in timelines:
        lead = None
        false = missed = False
        if tl.viral_at is not None and tl.first_alert_at is not None:
            lead = (tl.viral_at - tl.first_alert_at).total_seconds() / 60.0
            if lead > 0:
                leads.append(lead)
            else:
                missed = True
        elif tl.viral_at is not None:
            missed = True
        if tl.first_alert_at is not None and (
            tl.viral_at is None or tl.viral_at - tl.first_alert_at > timedelta(hours=follow_hours)
        ):
            false = True
        outcomes.append(IssueOutcome(tl, lead, false, missed))
    totals = BacktestTotals(
        issues=len(timelines),
        alerted=sum(1 for t in timelines if t.first_alert_at is not None),
        viral=sum(1 for t in timelines if t.viral_at is not None),
        warned_early=len(leads),
        missed=sum(1 for o in outcomes if o.missed),
        false_alerts=sum(1 for o in outcomes if o.false_alert),
        median_lead_minutes=statistics.median(leads) if leads else None,
    )
    return outcomes, totals


def weekly(
    timelines: Sequence[IssueTimeline], follow_hours: float = 48.0
) -> list[tuple[date, list[IssueOutcome], BacktestTotals]]:
    """:func:`summarise` per week (Monday, WIB) of each issue's first warning, else its viral time (pure).

    The monitor's own lead time as users feel it: how early the first warning came before an issue
    was viral, how many went viral unwarned, how many warnings were not followed by viral growth.
    """
    weeks: dict[date, list[IssueTimeline]] = {}
    for tl in timelines:
        when = tl.first_alert_at or tl.viral_at
        if when is None:
            continue
        day = to_wib(when).date()
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(tl)
    return [(monday, *summarise(items, follow_hours)) for monday, items in sorted(weeks.items())]


@contextmanager
def scratch_database() -> Iterator[Database]:
    """A throw-away SQLite database at the newest schema, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="oki-backtest-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'backtest.db'}", sqlite_synchronous="NORMAL")
        db.upgrade()
        try:
            yield db
        finally:
            db.dispose()


def _copy(source: Database, target: Database, start: datetime, end: datetime, lookback: timedelta) -> list[int]:
    """Copy sources, the period's posts, their first labels and readings; returns the ids of posts to group.

    Posts keep their ids. Posts to group are held back (stage ``held``) until their collection time;
    their engagement is reset to the first reading known, so no later number leaks into the past.
    """
    post_cols = list(table_of(Post).columns)
    with source.session() as src:
        sources = [dict(r._mapping) for r in src.execute(select(table_of(Source)))]
        posts = [
            dict(r._mapping)
            for r in src.execute(
                select(*post_cols)
                .where(Post.collected_at >= start - lookback, Post.collected_at <= end)
                .order_by(Post.id)
            )
        ]
        ids = [p["id"] for p in posts]
        labels: dict[int, dict[str, object]] = {}
        metrics: list[dict[str, Any]] = []
        for lo in range(0, len(ids), 900):
            chunk = ids[lo : lo + 900]
            for r in src.execute(select(table_of(Label)).where(one_of(src, Label.post_id, chunk)).order_by(Label.id)):
                labels.setdefault(r.post_id, dict(r._mapping))  # several model versions: the first wins
            metrics += [
                dict(r._mapping)
                for r in src.execute(
                    select(table_of(PostMetric))
                    .where(one_of(src, PostMetric.post_id, chunk), PostMetric.at <= end)
                    .order_by(PostMetric.id)
                )
            ]
    collected_at = {int(p["id"]): p["collected_at"] for p in posts}
    # The service collects (storing a reading of each new post, and of a stored post it sees again), runs
    # the pipeline, then tracks: a tracking reading taken at a pipeline pass's time was not there for that
    # pass. Readings are numbered in the order they were stored, so at each time, those up to the last
    # reading stored with a new post were the collections'; later ones are tracking's and move a
    # millisecond later, out of that pass in the replay too.
    collections_end: dict[datetime, int] = {}
    for m in metrics:
        if m["at"] == collected_at.get(int(str(m["post_id"]))):
            collections_end[m["at"]] = max(collections_end.get(m["at"], 0), int(m["id"]))
    first_reading: dict[int, dict[str, Any]] = {}
    for m in metrics:
        pid = int(str(m["post_id"]))
        first_reading.setdefault(pid, m)
        if int(m["id"]) > collections_end.get(m["at"], 0):
            m["at"] = m["at"] + READING_AFTER
    held: list[int] = []
    known = set(ids)
    for p in posts:
        lab = labels.get(p["id"])
        if p["duplicate_of_id"] is not None and p["duplicate_of_id"] not in known:
            p["duplicate_of_id"] = None
        grouped = (
            lab is not None
            and bool(lab["relevant"])
            and (bool(lab["is_complaint"]) or is_response(post_text(_Text(p))))
        )
        p["stage"] = "held" if grouped else "filtered"
        reading = first_reading.get(p["id"])
        if reading is not None:
            for key in ("likes", "shares", "replies", "views"):
                p[key] = reading[key]
        if grouped:
            held.append(p["id"])
    with target.session() as dst:
        if sources:
            dst.execute(insert(table_of(Source)), sources)
        for lo in range(0, len(posts), 500):
            dst.execute(insert(table_of(Post)), posts[lo : lo + 500])
        rows = list(labels.values())
        for lo in range(0, len(rows), 500):
            dst.execute(insert(table_of(Label)), rows[lo : lo + 500])
        for lo in range(0, len(metrics), 500):
            dst.execute(insert(table_of(PostMetric)), metrics[lo : lo + 500])
    return held


@dataclass(frozen=True, slots=True)
class _Text:
    """Title and text of a copied post row, for :func:`monitor.stages.group.post_text`."""

    row: dict[str, object]

    @property
    def title(self) -> str | None:
        v = self.row.get("title")
        return None if v is None else str(v)

    @property
    def text(self) -> str | None:
        v = self.row.get("text")
        return None if v is None else str(v)


def replay(
    source: Database,
    config: AppConfig,
    start: datetime,
    end: datetime,
    *,
    step: timedelta = timedelta(minutes=10),
    lookback: timedelta = timedelta(hours=72),
    scratch: Database | None = None,
) -> list[IssueTimeline]:
    """Replay ``[start, end)`` with ``config`` (its ``virality:`` and alert rules); ``source`` is only read.

    Steps start at ``start``; posts collected up to ``lookback`` before it are grouped at the first
    step, so an issue already running has its history.
    """
    from alerts.engine import evaluate
    from monitor.stages.assess import assess_issues
    from monitor.stages.group import group_new

    if end <= start:
        raise ValueError("akhir periode harus setelah awalnya")
    with _scratch(scratch) as db:
        held = _copy(source, db, start, end, lookback)
        collected: dict[int, datetime] = {}
        with db.session() as s:
            for lo in range(0, len(held), 900):
                rows = s.execute(select(Post.id, Post.collected_at).where(one_of(s, Post.id, held[lo : lo + 900])))
                collected.update({int(pid): at for pid, at in rows})
        order = sorted(held, key=lambda pid: (collected[pid], pid))
        released = 0
        now = start
        while now < end:
            due: list[int] = []
            while released < len(order) and collected[order[released]] <= now:
                due.append(order[released])
                released += 1
            if due:
                with db.session() as s:
                    for lo in range(0, len(due), 900):
                        s.execute(
                            update(Post).where(one_of(s, Post.id, due[lo : lo + 900])).values(stage="classified"),
                            execution_options={"synchronize_session": False},
                        )
            while True:
                with db.session() as s:
                    grouped, _, _, _ = group_new(s, config, now)
                if grouped < 2000:
                    break
            with db.session() as s:
                assess_issues(s, config, now)
                close_quiet(s, config, now)
                evaluate(s, config, now)
            now += step
        return _timelines(db)


@contextmanager
def _scratch(given: Database | None) -> Iterator[Database]:
    if given is not None:
        yield given
        return
    with scratch_database() as db:
        yield db


def _timelines(db: Database) -> list[IssueTimeline]:
    with db.session() as s:
        return stored_timelines(s)


def stored_timelines(
    session: Session, start: datetime | None = None, end: datetime | None = None, region: str | None = None
) -> list[IssueTimeline]:
    """First warning and viral time of the issues in a database, as they really happened.

    With ``start``/``end``, only issues whose first warning or viral time falls in ``[start, end)``:
    the monitor's own weekly lead time is ``summarise(stored_timelines(session, monday, next_monday))``.
    """
    query = select(Issue).order_by(Issue.id)
    if region is not None:  # one region's issues only (a user of one region)
        query = query.where(Issue.region_code == region)
    issues = list(session.scalars(query))
    first_alert: dict[int, datetime] = {}
    counts: dict[int, int] = {}
    for a in session.scalars(select(Alert).where(Alert.kind.in_(ALERT_KINDS)).order_by(Alert.created_at, Alert.id)):
        if a.issue_id is None:
            continue
        first_alert.setdefault(a.issue_id, a.created_at)
        counts[a.issue_id] = counts.get(a.issue_id, 0) + 1
    viral: dict[int, datetime] = {}
    stage_events = select(IssueEvent).where(IssueEvent.kind == "stage").order_by(IssueEvent.at, IssueEvent.id)
    for e in session.scalars(stage_events):
        if isinstance(e.detail, dict) and e.detail.get("to") == "viral":
            viral.setdefault(e.issue_id, e.at)

    def inside(when: datetime | None) -> bool:
        if when is None:
            return False
        return (start is None or when >= start) and (end is None or when < end)

    return [
        IssueTimeline(
            issue_id=i.id,
            title=i.title or "",
            topic=i.topic,
            kecamatan=i.kecamatan,
            first_alert_at=first_alert.get(i.id),
            viral_at=viral.get(i.id),
            alerts=counts.get(i.id, 0),
        )
        for i in issues
        if (start is None and end is None) or inside(first_alert.get(i.id)) or inside(viral.get(i.id))
    ]
