"""Read queries for pages and API, each with the caller's scope applied in one place.

Row-level access (an agency user sees only its agency, in its region; a user with a region
only that region) is enforced here, by :func:`in_scope`, :func:`scoped_issues` and
:func:`get_visible_issue`, so a page and its API twin cannot disagree. Queries are batched per page (no query per row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import DateTime, Integer, Select, String, bindparam, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session, aliased, defer
from sqlalchemy.sql.selectable import ScalarSelect

from alerts.engine import alert_deadlines
from alerts.progress import issue_progress
from alerts.sla import overdue
from monitor.domain.personal_urls import author_alias
from monitor.kernel.clock import WIB, to_wib
from monitor.kernel.regions import DEFAULT_REGION
from monitor.stages.lapor import tickets_of_issue
from monitor.store.models import (
    Alert,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueEvent,
    IssuePost,
    IssueStatus,
    Label,
    LabelCorrection,
    Post,
    ScopeCount,
    Signal,
    Source,
    User,
)
from monitor.web.auth import Principal

MAX_ID = 2**31 - 1
"""Largest id an INTEGER key column holds on PostgreSQL; larger ids in a URL are simply not found."""
MAX_BIG_ID = 2**63 - 1

_Q = TypeVar("_Q", bound=Select)

BUCKETS: tuple[str, ...] = ("hour", "day", "week", "month")
DIMENSIONS: tuple[str, ...] = ("topic", "kecamatan", "agency", "source", "region")


def in_scope(
    query: _Q,
    principal: Principal,
    agency: Any = Issue.agency_code,
    region: Any = Issue.region_code,
) -> _Q:
    """``query`` restricted to the rows ``principal`` may see: its agency (agency users) and its region
    (users with one). ``agency`` and ``region`` are the columns carrying them (an issue's by default;
    the trend aggregates' or alerts' for those)."""
    if principal.scope_agency is not None:
        query = query.where(agency == principal.scope_agency)
    if principal.scope_region is not None:
        query = query.where(region == principal.scope_region)
    return query


def narrowed(query: _Q, *tests: tuple[Any, str | None]) -> _Q:
    """``query`` with ``column == value`` for each ``(column, value)`` whose value is given.

    A filter left empty (None or "") narrows nothing: the rule the board, the issue list and the
    trends share, so a new filter cannot treat an empty value differently in one of them.
    """
    for column, value in tests:
        if value:
            query = query.where(column == value)
    return query


def scoped_issues(principal: Principal) -> Select[Issue]:
    """``SELECT issues`` restricted to what ``principal`` may see.

    The grouping vectors (``terms``: word weights and simhashes, kilobytes on a busy issue) are
    left unloaded: no page shows them, and decoding them for every row of a board was waste. Code
    that needs them inside a session still gets them on first access.
    """
    return in_scope(select(Issue).options(defer(Issue.terms)), principal)


def get_visible_issue(session: Session, principal: Principal, issue_id: int) -> Issue | None:
    """The issue if it exists *and* the principal may see it; otherwise None (callers answer 404)."""
    return session.scalar(scoped_issues(principal).where(Issue.id == issue_id))


_SHOWN_ISSUE = select(*(c for c in Issue.__table__.c if c.key != "terms")).where(
    Issue.id == bindparam("issue_id", type_=Integer())
)
_SHOWN_REGION_ISSUE = _SHOWN_ISSUE.where(Issue.region_code == bindparam("region", type_=String()))
_SHOWN_AGENCY_ISSUE = _SHOWN_REGION_ISSUE.where(Issue.agency_code == bindparam("agency", type_=String()))


def visible_issue_row(session: Session, principal: Principal, issue_id: int) -> Any | None:
    """:func:`get_visible_issue` as a plain row, for pages that only show the issue.

    Same scope rule as :func:`scoped_issues`; prebuilt statements and no ORM identity map:
    loading the issue this way was an eighth of an issue page's CPU.
    """
    conn = session.connection()
    agency, region = principal.scope_agency, principal.scope_region
    if agency is None and region is None:
        return conn.execute(_SHOWN_ISSUE, {"issue_id": issue_id}).first()
    if agency is None:
        return conn.execute(_SHOWN_REGION_ISSUE, {"issue_id": issue_id, "region": region}).first()
    # An agency user always has a region (Principal.scope_region).
    return conn.execute(_SHOWN_AGENCY_ISSUE, {"issue_id": issue_id, "agency": agency, "region": region}).first()


# ---------------------------------------------------------------- board


@dataclass(frozen=True, slots=True)
class BoardRow:
    issue: Issue
    spark: list[int]
    """Posts per hour over the last :data:`SPARK_HOURS` hours, oldest first (:func:`hourly_posts`)."""
    alerted: bool = False
    """An alert about the issue was issued (else "not yet acknowledged" would blame an agency never told)."""
    overdue: tuple[str, ...] = ()
    """LAPOR! clocks (``respond``/``process``/``finish``) past their deadline and still open now."""
    reasons: tuple[str, ...] = ()
    """The reasons of the issue's latest assessment (Bahasa phrases, :func:`classifiers.virality.explain`)."""
    spark_start: datetime | None = None
    """The first hour of :attr:`spark` (UTC)."""


@dataclass(frozen=True, slots=True)
class BoardSummary:
    """The strip above the board: what is open, and what needs someone now (within scope and filter)."""

    by_stage: dict[str, int]
    unacknowledged: int
    """Alerted and nobody has acknowledged yet."""
    overdue: int
    """A LAPOR! clock past its deadline."""
    viral_today: int
    """Became viral since midnight WIB."""

    @property
    def open(self) -> int:
        """All open issues."""
        return sum(self.by_stage.values())


@dataclass(frozen=True, slots=True)
class Board:
    """The board's rows in "needs action" order, and the summary of all open issues behind them."""

    rows: list[BoardRow]
    summary: BoardSummary


SPARK_HOURS = 24
"""The board's sparkline: posts per hour over the last day."""
RISING = ("naik", "viral")


def needs_action_rank(issue: Any, alerted: bool, overdue_now: bool) -> int:
    """0: rising and nobody acknowledged it; 1: a deadline passed; 2: the rest (the board's order, then score).

    Rising means stage naik or viral: those are the stages that alert, and an issue nobody picked up
    while it grows is what comms must see first.
    """
    if issue.stage in RISING and issue.acknowledged_at is None:
        return 0
    if overdue_now:
        return 1
    return 2


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """What the board is narrowed to, from its URL; every value already checked against the known ones."""

    kecamatan: str | None = None
    topic: str | None = None
    stage: str | None = None
    agency: str | None = None
    region: str | None = None
    """A region code (``16.01``), for a user of several regions: a kecamatan filter always comes with its
    region there, since two regencies can have a kecamatan of the same name."""

    def params(self) -> dict[str, str]:
        """The filter as URL query parameters (empty values left out)."""
        return {
            k: v
            for k, v in (
                ("region", self.region),
                ("kecamatan", self.kecamatan),
                ("topic", self.topic),
                ("stage", self.stage),
                ("opd", self.agency),
            )
            if v
        }

    def apply(self, query: _Q) -> _Q:
        """``query`` (over issues) narrowed to this filter."""
        return narrowed(
            query,
            (Issue.region_code, self.region),
            (Issue.kecamatan, self.kecamatan),
            (Issue.topic, self.topic),
            (Issue.stage, self.stage),
            (Issue.agency_code, self.agency),
        )


MAX_OPEN = 5000
"""Open issues read for the board's order and summary; a regency has a few hundred at most."""


def board(
    session: Session,
    principal: Principal,
    now: datetime,
    *,
    limit: int = 60,
    where: BoardFilter | None = None,
) -> Board:
    """Open issues, those needing action first (:func:`needs_action_rank`, then score), with the summary strip.

    The order needs every open issue's rank, so the ranking facts (stage, acknowledgement, alerts,
    deadlines) are read for all open issues in scope; the wide columns and the sparkline counts
    only for the rows shown. A fixed number of queries whatever the number of rows.
    """
    # The ranking facts of every open issue as plain rows; whole issues only for the rows shown
    # (loading 2,000 ORM issues to show 60 was most of a big board's time).
    facts = select(Issue.id, Issue.stage, Issue.acknowledged_at, Issue.score, Issue.p_viral).where(
        Issue.status == IssueStatus.OPEN
    )
    facts = in_scope(facts, principal)
    if where is not None:
        facts = where.apply(facts)
    issues = session.execute(
        facts.order_by(Issue.score.desc(), Issue.p_viral.desc(), Issue.id.desc()).limit(MAX_OPEN)
    ).all()
    alerted: set[int] = set()
    late: dict[int, tuple[str, ...]] = {}
    if issues:
        # The open issues as a subquery rather than a list of ids: binding thousands of ids cost more than the join.
        open_ids = facts.with_only_columns(Issue.id).scalar_subquery()
        alerted = set(session.scalars(select(Alert.issue_id).where(Alert.issue_id.in_(open_ids)).distinct()))
        late = overdue_clocks(session, open_ids, now)
    ranked = sorted(
        issues, key=lambda i: (needs_action_rank(i, i.id in alerted, i.id in late), -i.score, -i.p_viral, -i.id)
    )
    shown_ids = [i.id for i in ranked[:limit]]
    loaded = {i.id: i for i in session.scalars(scoped_issues(principal).where(Issue.id.in_(shown_ids)))}
    shown = [loaded[i] for i in shown_ids if i in loaded]
    spark_start = (now - timedelta(hours=SPARK_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    counts = hourly_posts(session, [i.id for i in shown], spark_start, now)
    reasons = latest_reasons(session, [i.id for i in shown])
    rows = [
        BoardRow(
            issue=i,
            spark=counts[i.id].counts,
            alerted=i.id in alerted,
            overdue=late.get(i.id, ()),
            reasons=reasons.get(i.id, ()),
            spark_start=spark_start,
        )
        for i in shown
    ]
    by_stage = dict.fromkeys(("viral", "naik", "baru", "mereda"), 0)
    for i in issues:
        by_stage[i.stage] = by_stage.get(i.stage, 0) + 1
    summary = BoardSummary(
        by_stage=by_stage,
        unacknowledged=sum(1 for i in issues if i.id in alerted and i.acknowledged_at is None),
        overdue=len(late),
        viral_today=viral_since(session, principal, wib_midnight(now), where),
    )
    return Board(rows, summary)


def wib_midnight(now: datetime) -> datetime:
    """The start of ``now``'s WIB day, as UTC."""
    return to_wib(now).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def viral_since(session: Session, principal: Principal, since: datetime, where: BoardFilter | None = None) -> int:
    """Issues in scope (and filter) whose stage turned viral since ``since`` (stage events), whatever their status."""
    query = (
        select(IssueEvent.issue_id, IssueEvent.detail)
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .where(IssueEvent.kind == "stage", IssueEvent.at >= since)
    )
    query = in_scope(query, principal)
    if where is not None:
        query = where.apply(query)
    return len({issue_id for issue_id, detail in session.execute(query) if (detail or {}).get("to") == "viral"})


def latest_reasons(session: Session, issue_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The reasons of each issue's newest assessment (one query; issues never assessed are left out)."""
    if not issue_ids:
        return {}
    newest = (
        select(func.max(Signal.id)).where(Signal.issue_id.in_(list(issue_ids))).group_by(Signal.issue_id)
    ).scalar_subquery()
    rows = session.execute(select(Signal.issue_id, Signal.reasons).where(Signal.id.in_(newest)))
    return {issue_id: tuple(str(r) for r in (reasons or [])) for issue_id, reasons in rows if issue_id is not None}


def hourly_posts(session: Session, issue_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, HourlyCounts]:
    """Posts per whole hour of each issue from the hour holding ``start`` to the one holding ``end``, zeros included.

    The one series function of "posts per hour": the board's sparkline and the issue page's chart
    both read it, so they cannot disagree. Every post of the issue counts (originals, copies,
    responses), by the time it was posted. Hours are whole in UTC and in WIB alike (UTC+7).
    """
    first = int(start.timestamp()) // 3600
    last = int(end.timestamp()) // 3600
    width = max(last - first + 1, 0)
    out = {i: HourlyCounts(datetime.fromtimestamp(first * 3600, UTC), [0] * width) for i in issue_ids}
    if not issue_ids or not width:
        return out
    created = IssuePost.post_created_at
    lo = datetime.fromtimestamp(first * 3600, UTC)
    hi = datetime.fromtimestamp((last + 1) * 3600, UTC)
    in_range = (IssuePost.issue_id.in_(list(issue_ids)), created >= lo, created < hi)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        hour: Any = func.date_trunc("hour", type_coerce(created, DateTime()))
        for issue_id, at, n in conn.execute(
            select(IssuePost.issue_id, hour, func.count()).where(*in_range).group_by(IssuePost.issue_id, hour)
        ).all():
            out[issue_id].counts[int(at.replace(tzinfo=UTC).timestamp()) // 3600 - first] += int(n)
    else:
        # SQLite keeps naive UTC text; the hour is its first 13 characters ("YYYY-MM-DD HH").
        text_hour = func.substr(type_coerce(created, String()), 1, 13)
        for issue_id, at, n in conn.execute(
            select(IssuePost.issue_id, text_hour, func.count()).where(*in_range).group_by(IssuePost.issue_id, text_hour)
        ).all():
            stamp = datetime.strptime(at, "%Y-%m-%d %H").replace(tzinfo=UTC)
            out[issue_id].counts[int(stamp.timestamp()) // 3600 - first] += int(n)
    return out


def overdue_clocks(
    session: Session, issue_ids: Sequence[int] | ScalarSelect[Any], now: datetime
) -> dict[int, tuple[str, ...]]:
    """Per issue (ids, or a subquery of ids), the LAPOR! clocks past their deadline at ``now`` (two queries
    plus the progress read).

    The clocks are those of the latest root alert to the agency holding the issue (a regression or a
    reroute starts them again).
    """
    if isinstance(issue_ids, Sequence):
        if not issue_ids:
            return {}
        issue_ids = list(issue_ids)
    roots: dict[int, Alert] = {}
    for alert in session.scalars(
        select(Alert)
        .where(
            Alert.issue_id.in_(issue_ids),
            Alert.kind.in_(("first", "crisis", "regression")),
            Alert.respond_due_at.is_not(None),
        )
        .order_by(Alert.id)
    ):
        assert alert.issue_id is not None
        # The clocks of the agency holding the issue: not comms' copy, not an agency it was moved away from.
        if alert.receiver.startswith("agency:") and not alert.payload.get("rerouted_to"):
            roots[alert.issue_id] = alert
    if not roots:
        return {}
    # A regression, or a reroute to this agency, starts the clocks again: earlier steps do not count.
    first = issue_progress(
        session, [i for i, a in roots.items() if a.kind != "regression" and not a.payload.get("reroute")]
    )
    out: dict[int, tuple[str, ...]] = {}
    for issue_id, alert in roots.items():
        due = alert_deadlines(alert)
        progress = first.get(issue_id)
        if progress is None:
            progress = issue_progress(session, [issue_id], since=due.start)[issue_id]
        clocks = tuple(overdue(due, progress, now))
        if clocks:
            out[issue_id] = clocks
    return out


def board_version(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of what the board shows (one indexed query).

    New issues get a new id, the pipeline bumps ``issues.updated_at`` whenever it reassesses an
    issue and adds signals for the sparklines; acknowledgements set ``acknowledged_at``; a new alert changes an
    issue's status column. Any of these moving means a cached board is stale, without the pipeline having to tell
    the web process anything.
    """
    row = session.execute(
        select(
            func.max(Issue.id),
            func.max(Issue.updated_at),
            func.max(Issue.acknowledged_at),
            select(func.max(Signal.id)).scalar_subquery(),
            select(func.max(Alert.id)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def list_issues(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    stage: str | None = None,
    topic: str | None = None,
    agency: str | None = None,
    kecamatan: str | None = None,
    limit: int = 50,
    offset: int = 0,
    region: str | None = None,
) -> list[Issue]:
    """Issues matching the filters, within the principal's scope, highest score first."""
    query = narrowed(
        scoped_issues(principal),
        (Issue.region_code, region),
        (Issue.status, status),
        (Issue.stage, stage),
        (Issue.topic, topic),
        (Issue.agency_code, agency),
        (Issue.kecamatan, kecamatan),
    )
    query = query.order_by(Issue.score.desc(), Issue.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


# ---------------------------------------------------------------- issue detail


POST_COLUMNS = (
    Post.id,
    Post.platform,
    Post.url,
    Post.author_key,
    Post.title,
    Post.text,
    Post.created_at,
    Post.likes,
    Post.shares,
    Post.replies,
    Post.views,
)
"""What pages, API and exports show of a post: plain rows are several times cheaper than ORM objects."""

LABEL_COLUMNS = (
    Label.post_id,
    Label.topic,
    Label.kecamatan,
    Label.agency_code,
    Label.is_complaint,
    Label.relevant,
    Label.confidence,
    Label.needs_triage,
)


@dataclass
class EvidencePost:
    post: Any
    """A row with the :data:`POST_COLUMNS` as attributes (``id``, ``text``, ``created_at`` ...)."""
    label: Any | None
    """The newest model's label: :data:`LABEL_COLUMNS` as attributes, or None when unlabelled."""
    is_spread: bool
    author: str


@dataclass
class IssueDetail:
    issue: Any
    """The issue's row (ORM object or plain row: the page only reads its columns)."""
    posts: list[EvidencePost]
    signals: Sequence[Any]
    """Oldest first: whole rows for the API, (at, engagement, score) for the page."""
    alerts: Sequence[Any]
    events: Sequence[Any] = field(default_factory=list)
    """Page only, like every field below."""
    deliveries: Sequence[Any] = field(default_factory=list)
    """Delivery rows of the issue's alerts (channel, recipient, status, attempts, ...), newest first."""
    corrections: Sequence[Any] = field(default_factory=list)
    hourly_mentions: HourlyCounts = field(default_factory=lambda: HourlyCounts())
    """Posts per hour (:func:`hourly_posts`) from the issue's first post (at most two weeks back) to its last."""
    correction_users: dict[int, str] = field(default_factory=dict)
    post_total: int = 0
    """All posts of the issue (originals, copies, responses): the evidence pages count these."""
    reasons: tuple[str, ...] = ()
    """The newest assessment's reasons (Bahasa phrases)."""
    lapor_tickets: list[dict[str, Any]] = field(default_factory=list)
    """The issue's LAPOR! tickets (:func:`monitor.stages.lapor.tickets_of_issue`)."""


class LabelView(tuple[Any, ...]):
    """The label part of an evidence row, with the :data:`LABEL_COLUMNS` names as attributes."""

    __slots__ = ()
    post_id = property(itemgetter(0))
    topic = property(itemgetter(1))
    kecamatan = property(itemgetter(2))
    agency_code = property(itemgetter(3))
    is_complaint = property(itemgetter(4))
    relevant = property(itemgetter(5))
    confidence = property(itemgetter(6))
    needs_triage = property(itemgetter(7))


class IssuePageStatements(NamedTuple):
    """The issue page's statements (bound parameters: ``issue_id``, and ``max_posts`` or ``since``)."""

    evidence: Select[*tuple[Any, ...]]
    signals: Select[*tuple[Any, ...]]
    """Whole signal rows (the API)."""
    signal_chart: Select[*tuple[Any, ...]]
    """Only what the page's chart draws: time, engagement, score (no reasons JSON to decode)."""
    events: Select[*tuple[Any, ...]]
    alerts: Select[*tuple[Any, ...]]
    deliveries: Select[*tuple[Any, ...]]
    corrections: Select[*tuple[Any, ...]]
    post_total: Select[*tuple[Any, ...]]
    """How many posts the issue holds (the evidence pages)."""
    latest_reasons: Select[*tuple[Any, ...]]
    """The newest assessment's reasons."""


def _issue_page_statements() -> IssuePageStatements:
    """The issue page's queries, built once with bound parameters.

    Built per call they cost more Python than the database spent answering them (statement
    construction, cache-key generation); and their text never varies (no IN lists sized by the
    page), so psycopg prepares them on the server after a few uses and PostgreSQL stops
    re-planning them.
    """
    issue_id = bindparam("issue_id", type_=Integer())
    # The issue's timeline index gives the originals, newest first, then the spread: the posts
    # table is read only for the rows shown.
    shown = (
        select(IssuePost.post_id, IssuePost.is_spread)
        .where(IssuePost.issue_id == issue_id)
        .order_by(IssuePost.is_spread, IssuePost.post_created_at.desc())
        .limit(bindparam("max_posts"))
        .offset(bindparam("offset"))
        .subquery("shown")
    )
    members = select(*POST_COLUMNS, shown.c.is_spread).join(shown, shown.c.post_id == Post.id).subquery("m")
    # The newest model's label of each shown post, joined after the LIMIT so a busy issue does
    # not look up labels for thousands of posts it will not show.
    newest = aliased(Label)
    newest_label = (
        select(newest.id)
        .where(newest.post_id == members.c.id)
        .order_by(newest.created_at.desc(), newest.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    evidence = (
        select(members, *LABEL_COLUMNS)
        .outerjoin(Label, Label.id == newest_label)
        .order_by(members.c.is_spread, members.c.created_at.desc())
    )

    def newest_signals(*columns: Any) -> Select[*tuple[Any, ...]]:
        return select(*columns).where(Signal.issue_id == issue_id).order_by(Signal.at.desc()).limit(500)

    signals = newest_signals(
        Signal.at,
        Signal.stage,
        Signal.score,
        Signal.p_viral,
        Signal.eta_minutes,
        Signal.mentions,
        Signal.engagement,
        Signal.velocity,
        Signal.reasons,
    )
    signal_chart = newest_signals(Signal.at, Signal.engagement, Signal.score)
    # Only the columns the page and the API show: the alert's payload (the whole message) and
    # the other wide columns cost decoding on every view for nothing.
    events = (
        select(IssueEvent.at, IssueEvent.kind, IssueEvent.actor, IssueEvent.detail)
        .where(IssueEvent.issue_id == issue_id)
        .order_by(IssueEvent.at.desc())
    )
    alerts = (
        select(
            Alert.id,
            Alert.receiver,
            Alert.kind,
            Alert.stage,
            Alert.created_at,
            Alert.acknowledged_at,
            Alert.acknowledged_by,
        )
        .where(Alert.issue_id == issue_id)
        .order_by(Alert.created_at.desc())
    )
    deliveries = (
        select(
            Delivery.created_at,
            Delivery.channel,
            Delivery.recipient,
            Alert.receiver,
            Delivery.status,
            Delivery.attempts,
            Delivery.sent_at,
            Delivery.last_error,
        )
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Alert.issue_id == issue_id)
        .order_by(Delivery.created_at.desc())
    )
    corrections = (
        select(
            LabelCorrection.created_at,
            LabelCorrection.post_id,
            LabelCorrection.field,
            LabelCorrection.value,
            LabelCorrection.user_id,
            LabelCorrection.source,
            User.username,
        )
        .join(IssuePost, IssuePost.post_id == LabelCorrection.post_id)
        .outerjoin(User, User.id == LabelCorrection.user_id)
        .where(IssuePost.issue_id == issue_id)
        .order_by(LabelCorrection.created_at.desc())
        .limit(200)
    )
    post_total = select(func.count()).select_from(IssuePost).where(IssuePost.issue_id == issue_id)
    latest_reasons = newest_signals(Signal.reasons).limit(1)
    return IssuePageStatements(
        evidence=evidence,
        signals=signals,
        signal_chart=signal_chart,
        events=events.limit(200),
        alerts=alerts,
        deliveries=deliveries,
        corrections=corrections,
        post_total=post_total,
        latest_reasons=latest_reasons,
    )


_ISSUE_PAGE = _issue_page_statements()
_POST_WIDTH = len(POST_COLUMNS)


def issue_detail(
    session: Session, issue: Any, *, max_posts: int = 100, offset: int = 0, max_hours: int = 14 * 24, page: bool = True
) -> IssueDetail:
    """What the issue page (``page``) or the API shows of an issue, in a fixed number of queries of plain rows.

    The page gets chart-only signals plus events, deliveries, corrections and the hourly
    counts; the API gets whole signal rows and leaves out what it does not return.
    """
    # Column queries go straight to the connection: the ORM's per-statement work (compile state,
    # loading) buys nothing for plain rows and was a third of each query's CPU.
    conn = session.connection()
    q = _ISSUE_PAGE
    key = {"issue_id": issue.id}
    posts = []
    # .all() fetches in one call; iterating a result fetches row by row (a tenth of these queries' CPU).
    for row in conn.execute(q.evidence, {"issue_id": issue.id, "max_posts": max_posts, "offset": offset}).all():
        label = LabelView(row[_POST_WIDTH + 1 :]) if row[_POST_WIDTH + 1] is not None else None
        posts.append(EvidencePost(row, label, bool(row.is_spread), author_alias(row.author_key)))
    signals = conn.execute(q.signal_chart if page else q.signals, key).all()[::-1]
    alerts = conn.execute(q.alerts, key).all()
    detail = IssueDetail(issue=issue, posts=posts, signals=signals, alerts=alerts)
    if not page:
        return detail
    detail.deliveries = conn.execute(q.deliveries, key).all() if alerts else []
    detail.corrections = conn.execute(q.corrections, key).all()
    detail.correction_users = {
        c.user_id: c.username for c in detail.corrections if c.user_id is not None and c.username
    }
    detail.events = conn.execute(q.events, key).all()
    detail.post_total = int(conn.execute(q.post_total, key).scalar() or 0)
    detail.reasons = tuple(str(r) for r in (conn.execute(q.latest_reasons, key).scalar() or ()))
    detail.lapor_tickets = tickets_of_issue(session, issue.id)
    # The same counting as the board's sparkline (hourly_posts), over the issue's last two weeks of posts.
    start = max(issue.first_seen, issue.last_seen - timedelta(hours=max_hours - 1))
    detail.hourly_mentions = hourly_posts(session, [issue.id], start, issue.last_seen)[issue.id]
    return detail


@dataclass(frozen=True, slots=True)
class HourlyCounts:
    """Posts per whole UTC hour from ``start``, the empty hours included as zero.

    Kept as a start and a list of numbers: the chart needs the numbers and two labels, and
    building a datetime for each of up to 336 hours was a visible share of an issue page.
    Iterating gives ``(hour, count)`` pairs.
    """

    start: datetime | None = None
    counts: list[int] = field(default_factory=list)

    @property
    def end(self) -> datetime | None:
        """The last hour (None when there are no posts)."""
        return None if self.start is None else self.start + timedelta(hours=len(self.counts) - 1)

    def __iter__(self) -> Iterator[tuple[datetime, int]]:
        if self.start is not None:
            for k, n in enumerate(self.counts):
                yield self.start + timedelta(hours=k), n

    def extended_to(self, end: datetime, max_hours: int) -> HourlyCounts:
        """The counts with the quiet hours up to the one holding ``end`` as zeros; the newest ``max_hours`` kept.

        An open issue's chart runs to now, like the board's sparkline: ending at the last post hid
        that it had gone quiet.
        """
        if self.start is None:
            return self
        last = int(end.timestamp()) // 3600
        first = int(self.start.timestamp()) // 3600
        counts = self.counts + [0] * max(0, last - first - len(self.counts) + 1)
        drop = max(0, len(counts) - max_hours)
        return HourlyCounts(self.start + timedelta(hours=drop), counts[drop:])


def hourly_counts(times: Iterable[datetime]) -> HourlyCounts:
    """Counts per hour, with the empty hours in between filled with zero."""
    counts: dict[datetime, int] = defaultdict(int)
    for t in times:
        counts[t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)] += 1
    return fill_hours(counts)


def fill_hours(counts: dict[datetime, int]) -> HourlyCounts:
    """Counts per whole UTC hour, from the first to the last, with the empty hours as zero."""
    if not counts:
        return HourlyCounts()
    by_hour = {int(h.timestamp()) // 3600: n for h, n in counts.items()}
    first, last = min(by_hour), max(by_hour)
    return HourlyCounts(datetime.fromtimestamp(first * 3600, UTC), [by_hour.get(h, 0) for h in range(first, last + 1)])


def baseline(values: Sequence[float], recent: int = 6) -> float:
    """The usual hourly level: the median of the hours before the recent ones (0 with too little history)."""
    history = sorted(values[:-recent]) if len(values) > recent else []
    if not history:
        return 0.0
    mid = len(history) // 2
    return float(history[mid]) if len(history) % 2 else (history[mid - 1] + history[mid]) / 2


# ---------------------------------------------------------------- agency


@dataclass(frozen=True, slots=True)
class ResponseWeek:
    week: date
    issues: int
    median_ack_hours: float | None
    median_resolve_hours: float | None


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def week_start(when: datetime) -> date:
    """Monday (WIB) of the week containing ``when``."""
    local = to_wib(when).date()
    return local - timedelta(days=local.weekday())


def response_times(issues: Sequence[Issue]) -> list[ResponseWeek]:
    """Median hours from first post to acknowledgement and to resolution, per WIB week the issue started."""
    by_week: dict[date, list[Issue]] = defaultdict(list)
    for issue in issues:
        by_week[week_start(issue.first_seen)].append(issue)
    out = []
    for week in sorted(by_week):
        group = by_week[week]
        acks = [(i.acknowledged_at - i.first_seen).total_seconds() / 3600 for i in group if i.acknowledged_at]
        res = [(i.resolved_at - i.first_seen).total_seconds() / 3600 for i in group if i.resolved_at]
        out.append(
            ResponseWeek(week, len(group), _median([max(a, 0) for a in acks]), _median([max(r, 0) for r in res]))
        )
    return out


def agency_issues(
    session: Session, agency_code: str, since: datetime, limit: int = 500, region: str | None = None
) -> list[Issue]:
    """The agency's issues first seen since ``since`` (not merged pointers), newest first; of one region's
    agency of that code when ``region`` is given, else of that code in every region."""
    query = select(Issue).where(
        Issue.agency_code == agency_code, Issue.first_seen >= since, Issue.status != IssueStatus.MERGED
    )
    if region is not None:
        query = query.where(Issue.region_code == region)
    return list(session.scalars(query.order_by(Issue.first_seen.desc()).limit(limit)))


# ---------------------------------------------------------------- trends


@dataclass(frozen=True, slots=True)
class TrendFilter:
    """Filters of the trends page, API and exports (all optional except the time range)."""

    start: datetime
    end: datetime
    topic: str | None = None
    agency: str | None = None
    kecamatan: str | None = None
    source: str | None = None
    region: str | None = None
    """A region code (``16.01``): that region's rows only."""


@dataclass(frozen=True, slots=True)
class TrendRow:
    """One exported row: a bucket of time and one topic × kecamatan × agency × source."""

    bucket: datetime
    topic: str
    kecamatan: str
    agency: str
    source: str
    posts: int
    complaints: int
    engagement: float
    region: str = DEFAULT_REGION


@lru_cache(maxsize=65_536)
def bucket_of(hour: datetime, bucket: str) -> datetime:
    """Start of the hour/day/week/month (WIB calendar) that ``hour`` falls in, as an aware WIB time."""
    local = to_wib(hour)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")


def bucket_starts(start: datetime, end: datetime, bucket: str, limit: int = 1000) -> list[datetime] | None:
    """Every bucket start (WIB) from the one holding ``start`` up to ``end``; None if there are more than ``limit``.

    A trend chart needs the empty periods too: drawn only where there was data, three busy weeks
    months apart sat side by side as if they were consecutive.
    """
    out: list[datetime] = []
    current = bucket_of(start, bucket)
    while current < end:
        if len(out) == limit:
            return None
        out.append(current)
        if bucket == "month":
            year, month = (current.year + 1, 1) if current.month == 12 else (current.year, current.month + 1)
            current = current.replace(year=year, month=month)
        else:
            current += {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[bucket]
    return out


def trend_rows(
    session: Session, principal: Principal, flt: TrendFilter, bucket: str = "week", max_rows: int = 200_000
) -> list[TrendRow]:
    """Hourly aggregates (kept after raw posts are purged) filtered, scoped and summed into buckets."""
    query = _trend_where(
        select(
            ScopeCount.hour,
            ScopeCount.topic,
            ScopeCount.kecamatan,
            ScopeCount.agency_code,
            ScopeCount.platform,
            ScopeCount.posts,
            ScopeCount.complaints,
            ScopeCount.engagement,
            ScopeCount.region_code,
        ),
        principal,
        flt,
    )
    sums: dict[tuple[datetime, str, str, str, str, str], list[float]] = {}
    rows = session.execute(query.limit(max_rows))
    for hour, topic, kec, agency, platform, posts, complaints, engagement, region in rows:
        key = (bucket_of(hour, bucket), topic, kec or "", agency or "", platform or "", region)
        acc = sums.setdefault(key, [0, 0, 0.0])
        acc[0] += posts or 0
        acc[1] += complaints or 0
        acc[2] += engagement or 0.0
    return [
        TrendRow(k[0], k[1], k[2], k[3], k[4], int(v[0]), int(v[1]), round(v[2], 2), k[5])
        for k, v in sorted(sums.items())
    ]


def _trend_where(query: _Q, principal: Principal, flt: TrendFilter) -> _Q:
    """The time range, the principal's scope and the optional filters: one place for all trend queries."""
    query = query.where(ScopeCount.hour >= flt.start, ScopeCount.hour < flt.end)
    return narrowed(
        in_scope(query, principal, ScopeCount.agency_code, ScopeCount.region_code),
        (ScopeCount.topic, flt.topic),
        (ScopeCount.agency_code, flt.agency),
        (ScopeCount.kecamatan, flt.kecamatan),
        (ScopeCount.platform, flt.source),
        (ScopeCount.region_code, flt.region),
    )


_DIMENSION_COLUMNS = {
    "topic": ScopeCount.topic,
    "kecamatan": ScopeCount.kecamatan,
    "agency": ScopeCount.agency_code,
    "source": ScopeCount.platform,
    "region": ScopeCount.region_code,
}


def trend_series(
    session: Session, principal: Principal, flt: TrendFilter, bucket: str, dimension: str
) -> dict[str, dict[datetime, list[float]]]:
    """``series_by(trend_rows(...), dimension)``, summed by the database per WIB day and ``dimension``.

    Day, week and month buckets are unions of WIB days, so the database returns one row per day
    and key (a few hundred) instead of every hourly row (tens of thousands) for Python to sum.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")
    if bucket == "hour":
        return series_by(trend_rows(session, principal, flt, bucket), dimension)
    hour = type_coerce(ScopeCount.hour, DateTime())
    # The bucket's first WIB day, computed by the database so it returns one row per bucket and key.
    if session.get_bind().dialect.name == "postgresql":
        first_day: Any = func.date_trunc(bucket, hour + literal_column("interval '7 hours'"))  # weeks start Monday
    else:
        modifiers = {"day": (), "week": ("-6 days", "weekday 1"), "month": ("start of month",)}[bucket]
        first_day = func.date(hour, "+7 hours", *modifiers)
    key = _DIMENSION_COLUMNS[dimension]
    query = _trend_where(
        select(
            first_day, key, func.sum(ScopeCount.posts), func.sum(ScopeCount.complaints), func.sum(ScopeCount.engagement)
        ),
        principal,
        flt,
    ).group_by(first_day, key)
    out: dict[str, dict[datetime, list[float]]] = defaultdict(dict)
    starts: dict[Any, datetime] = {}
    # Plain rows from the connection: the ORM's per-statement work buys nothing here.
    for day_value, value, posts, complaints, engagement in session.connection().execute(query).all():
        start = starts.get(day_value)
        if start is None:
            local = date.fromisoformat(day_value) if isinstance(day_value, str) else day_value.date()
            start = starts[day_value] = wib_day_start(local)
        out[value or "-"][start] = [float(posts or 0), float(complaints or 0), float(engagement or 0.0)]
    return dict(out)


def series_by(rows: Sequence[TrendRow], dimension: str) -> dict[str, dict[datetime, list[float]]]:
    """Sum rows per value of ``dimension`` and bucket: {key: {bucket: [posts, complaints, engagement]}}."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")
    out: dict[str, dict[datetime, list[float]]] = defaultdict(dict)
    for r in rows:
        key = {"topic": r.topic, "kecamatan": r.kecamatan, "agency": r.agency, "source": r.source, "region": r.region}[
            dimension
        ]
        acc = out[key or "-"].setdefault(r.bucket, [0.0, 0.0, 0.0])
        acc[0] += r.posts
        acc[1] += r.complaints
        acc[2] += r.engagement
    return dict(out)


def default_range(now: datetime, days: int = 90) -> tuple[datetime, datetime]:
    """The last ``days`` days up to the end of today (WIB)."""
    end_local = to_wib(now).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return (end_local - timedelta(days=days)).astimezone(UTC), end_local.astimezone(UTC)


def wib_day_start(d: date) -> datetime:
    """Midnight WIB of ``d`` as an aware time."""
    return datetime(d.year, d.month, d.day, tzinfo=WIB)


def distinct_platforms(session: Session) -> list[str]:
    return sorted(p for p in session.scalars(select(ScopeCount.platform).distinct()) if p)


# ---------------------------------------------------------------- sources, users, audit


def sources(session: Session, region: str | None = None) -> list[Source]:
    """The collectors' rows (of ``region`` only, when given), by name."""
    # `_internal` rows hold bookkeeping (the Telegram update offset), not collectors.
    query = select(Source).where(Source.kind != "_internal")
    if region is not None:
        query = query.where(Source.region_code == region)
    return list(session.scalars(query.order_by(Source.name)))


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def queue_depth(session: Session, region: str | None = None) -> dict[str, int]:
    """Posts waiting for classification and deliveries waiting to be sent (of ``region`` only, when given)."""
    posts = select(func.count()).select_from(Post).where(Post.stage == "new")
    outbox = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.FAILED)))
    )
    if region is not None:
        # A delivery is its alert's region's (alerts carry their issue's region).
        posts = posts.where(Post.region_code == region)
        outbox = outbox.join(Alert, Alert.id == Delivery.alert_id).where(Alert.region_code == region)
    new_posts, pending = session.scalar(posts) or 0, session.scalar(outbox) or 0
    return {"posts_new": int(new_posts), "deliveries_pending": int(pending)}


def jsonable(value: Any) -> Any:
    """Datetimes as ISO strings, for audit details and API payloads."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value
