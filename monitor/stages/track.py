"""Engagement tracking: re-measure the posts of open issues, densely while an issue is young and rising.

Virality is growth of engagement, not one count, so every post in an open issue is
looked up again by id on a schedule and each reading becomes a ``PostMetric``
snapshot. Two parts:

- :func:`plan` is pure: given the tracked posts, the time and each source's call
  allowance, it says which posts to look up now, busiest issues first.
- :func:`run_tracking` reads the database, calls each collector's ``lookup`` (the
  :class:`collectors.base.MetricsLookup` protocol) *outside* any transaction, and
  writes snapshots, counts, call accounting and source health.

Schedule (per post, by the age and stage of its issue): a rising issue (``naik``,
``viral``) is measured every 5 min in its first 2 h, every 15 min up to 12 h, hourly
up to 2 days, then every 6 h until it closes. A ``baru`` issue is one tier sparser,
a cooling (``mereda``) issue two tiers sparser: API calls go where growth is.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
from sqlalchemy import func, select

from collectors.base import AuthFailed, MetricsReading, RateLimited, SourceError
from collectors.common import count_problem
from monitor.kernel.clock import format_wib
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, IssueStatus, Post, PostMetric, Source

if TYPE_CHECKING:
    from monitor.kernel.config import AppConfig

log = logging.getLogger(__name__)

TIERS: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=2), timedelta(minutes=5)),
    (timedelta(hours=12), timedelta(minutes=15)),
    (timedelta(hours=48), timedelta(hours=1)),
)
"""(issue younger than, re-measure every) for a rising issue; older issues use :data:`LAST_TIER`."""
LAST_TIER = timedelta(hours=6)
INTERVALS: tuple[timedelta, ...] = (*(every for _, every in TIERS), LAST_TIER)

STAGE_SHIFT = {"naik": 0, "viral": 0, "baru": 1, "mereda": 2}
"""How many tiers sparser than a rising issue each stage is measured (unknown stages: like ``baru``)."""

MAX_MISSES = 3
"""A post absent from this many lookups in a row (deleted, private) is no longer tracked."""


def tracking_interval(issue_age: timedelta, stage: str) -> timedelta:
    """How often posts of an issue of this age and stage are re-measured."""
    tier = next((i for i, (younger_than, _) in enumerate(TIERS) if issue_age < younger_than), len(TIERS))
    tier = min(tier + STAGE_SHIFT.get(stage, 1), len(INTERVALS) - 1)
    return INTERVALS[tier]


@dataclass(frozen=True, slots=True)
class TrackTarget:
    """One post of an open issue that a source can look up by id."""

    post_id: int
    source: str
    external_id: str
    issue_id: int
    issue_score: float
    issue_stage: str
    issue_first_seen: datetime
    last_measured_at: datetime
    engagement: int = 0
    """Current likes + shares + replies: within an issue, the most-engaged posts go first."""


@dataclass(frozen=True, slots=True)
class SourceBudget:
    """What one source may spend on tracking in this run."""

    calls: int
    max_ids_per_call: int


@dataclass(frozen=True, slots=True)
class TrackBatch:
    """One lookup call: up to ``max_ids_per_call`` posts of one source."""

    source: str
    external_ids: tuple[str, ...]
    post_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What :func:`plan_detail` decided, with what it had to leave for later."""

    batches: list[TrackBatch]
    due: int
    deferred: dict[str, int]
    """Per source: posts due now that the budget could not cover (measured on a later run)."""


def is_due(target: TrackTarget, now: datetime, slack: float = 0.2) -> bool:
    """Whether ``target`` should be measured now.

    ``slack`` (a fraction of the interval) absorbs the tracking job's own jitter, so a
    5-minute tier served by a 5-minute job does not slip to every 10 minutes.
    """
    every = tracking_interval(now - target.issue_first_seen, target.issue_stage)
    return now - target.last_measured_at >= every * (1 - slack)


def _priority(target: TrackTarget) -> tuple[float, int, int, int]:
    return (-target.issue_score, target.issue_id, -target.engagement, target.post_id)


def plan_detail(
    targets: Sequence[TrackTarget], now: datetime, budgets: Mapping[str, SourceBudget], *, slack: float = 0.2
) -> Plan:
    """Like :func:`plan`, also reporting how many due posts were left for later."""
    due_by_source: dict[str, list[TrackTarget]] = defaultdict(list)
    due = 0
    for target in targets:
        if is_due(target, now, slack):
            due += 1
            due_by_source[target.source].append(target)
    batches: list[tuple[tuple[float, int, int, int], TrackBatch]] = []
    deferred: dict[str, int] = {}
    for source, chosen in due_by_source.items():
        budget = budgets.get(source)
        chosen.sort(key=_priority)
        if budget is None or budget.calls <= 0 or budget.max_ids_per_call <= 0:
            deferred[source] = len(chosen)
            continue
        capacity = budget.calls * budget.max_ids_per_call
        if len(chosen) > capacity:
            deferred[source] = len(chosen) - capacity
        kept = chosen[:capacity]
        size = budget.max_ids_per_call
        for start in range(0, len(kept), size):
            group = kept[start : start + size]
            batch = TrackBatch(source, tuple(t.external_id for t in group), tuple(t.post_id for t in group))
            batches.append((_priority(group[0]), batch))
    batches.sort(key=lambda pair: pair[0])
    return Plan([b for _, b in batches], due, deferred)


def plan(
    targets: Sequence[TrackTarget], now: datetime, budgets: Mapping[str, SourceBudget], *, slack: float = 0.2
) -> list[TrackBatch]:
    """Which posts to re-measure now, as lookup batches, busiest issue first.

    Pure. A post is due when its issue's :func:`tracking_interval` has passed since its
    last reading. Per source, due posts are ranked by issue score, then engagement, and
    cut at ``budget.calls × budget.max_ids_per_call``; a source without a budget entry
    is not tracked.
    """
    return plan_detail(targets, now, budgets, slack=slack).batches


def calls_allowed(
    *,
    daily_budget: int | None,
    used_today: int,
    seconds_left_today: float,
    run_every_seconds: float,
    per_run_cap: int,
    burst: float = 4.0,
) -> int:
    """Calls one tracking run may make: within the daily budget, paced over the rest of the day.

    Pacing spends at most ``burst`` times the even share per run, so a morning spike
    cannot use the whole day's budget and leave the evening blind, yet a busy run can
    still spend more than an idle one.
    """
    if per_run_cap <= 0:
        return 0
    if daily_budget is None:
        return per_run_cap
    left = max(daily_budget - used_today, 0)
    if left == 0:
        return 0
    runs_left = max(seconds_left_today / max(run_every_seconds, 1.0), 1.0)
    fair = math.ceil(left / runs_left * burst)
    return max(0, min(left, per_run_cap, fair))


# --- the database-facing runner ---------------------------------------------------------


@runtime_checkable
class _Lookup(Protocol):
    max_ids_per_call: int

    def lookup(
        self, external_ids: list[str], client: httpx.Client, now: datetime
    ) -> tuple[list[MetricsReading], int]: ...


@dataclass(frozen=True, slots=True)
class TrackingParams:
    """Knobs of the runner (defaults suit one regency; a ``tracking:`` config section may set them)."""

    per_run_cap: int = 20
    """Most lookup calls one source may make in one run."""
    max_posts_per_issue: int = 200
    """An issue with thousands of posts is tracked through its most-engaged ones."""
    slack: float = 0.2
    burst: float = 4.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading written as a ``PostMetric`` row."""

    post_id: int
    source: str
    at: datetime
    likes: int
    shares: int
    replies: int
    views: int


@dataclass
class TrackingReport:
    """What one tracking run did."""

    at: datetime
    due: int = 0
    batches: int = 0
    snapshots: list[Snapshot] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    """Calls each source was allowed in this run."""
    missing: int = 0
    rejected: int = 0
    """Readings dropped as impossible (a count outside 0..10^12)."""
    deferred: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Sources not tracked this run, with the reason (in Bahasa Indonesia, shown to operators)."""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def readings(self) -> int:
        return len(self.snapshots)


def _day_key(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


def _seconds_left_today(now: datetime) -> float:
    # Same day boundary as monitor.stages.collect's calls_today (UTC date).
    utc = now.astimezone(UTC)
    end = datetime(utc.year, utc.month, utc.day, tzinfo=UTC) + timedelta(days=1)
    return (end - utc).total_seconds()


def _live_rate_limit(collector: object) -> dict[str, Any]:
    """The lookup rate-limit state a collector saw on its last call (``last_lookup_rate_limit``), if any."""
    live = getattr(collector, "last_lookup_rate_limit", None)
    to_json = getattr(live, "to_json", None)
    data = to_json() if callable(to_json) else None
    return dict(data) if isinstance(data, dict) else {}


def _lookup_rate_limit(collector: object, row: Source) -> Mapping[str, Any]:
    # This process's last reading wins; after a restart the stored one still holds until its reset.
    live = _live_rate_limit(collector)
    if live:
        return live
    stored = (row.rate_limit or {}).get("lookup")
    return stored if isinstance(stored, dict) else {}


def _rate_limit_cap(state: Mapping[str, Any], now: datetime) -> int | None:
    """Calls left in the platform's current lookup window, if it told us and the window is still open."""
    remaining = state.get("remaining")
    reset = state.get("reset")
    if not isinstance(remaining, int) or not isinstance(reset, str):
        return None
    try:
        reset_at = datetime.fromisoformat(reset)
    except ValueError:
        return None
    return remaining if reset_at > now else None


def _budgets(
    db: Database,
    config: AppConfig,
    now: datetime,
    lookups: Mapping[str, _Lookup],
    params: TrackingParams,
    report: TrackingReport,
) -> dict[str, SourceBudget]:
    configured = {s.name: s for s in config.sources}
    run_every = float(config.schedules.tracking_seconds)
    budgets: dict[str, SourceBudget] = {}
    with db.session() as session:
        rows = {r.name: r for r in session.scalars(select(Source).where(Source.name.in_(list(lookups))))}
        for name, collector in lookups.items():
            row = rows.get(name)
            if row is None:
                continue  # never collected: nothing of it can be in an issue
            if row.status == "auth_failed":
                report.skipped[name] = "token ditolak (401/403); perbaiki token, pelacakan berhenti sampai itu"
                continue
            if row.backoff_until is not None and row.backoff_until > now:
                report.skipped[name] = f"menunggu batas laju hingga {format_wib(row.backoff_until)}"
                continue
            used = row.calls_today if row.calls_day == _day_key(now) else 0
            src = configured.get(name)
            allowed = calls_allowed(
                daily_budget=src.daily_call_budget if src is not None else None,
                used_today=used,
                seconds_left_today=_seconds_left_today(now),
                run_every_seconds=run_every,
                per_run_cap=params.per_run_cap,
                burst=params.burst,
            )
            if allowed <= 0:
                report.skipped[name] = "anggaran panggilan API hari ini habis"
                continue
            window = _rate_limit_cap(_lookup_rate_limit(collector, row), now)
            if window is not None and window <= 0:
                report.skipped[name] = "jatah panggilan jendela batas laju saat ini habis; dicoba lagi setelah reset"
                continue
            if window is not None:
                allowed = min(allowed, window)
            report.budget[name] = allowed
            budgets[name] = SourceBudget(allowed, int(collector.max_ids_per_call))
    return budgets


def load_targets(db: Database, sources: Sequence[str], max_posts_per_issue: int = 200) -> list[TrackTarget]:
    """The posts of open issues from ``sources``, with when each was last measured."""
    if not sources:
        return []
    last_metric = (
        select(PostMetric.post_id, func.max(PostMetric.at).label("last_at")).group_by(PostMetric.post_id).subquery()
    )
    stmt = (
        select(
            Post.id,
            Source.name,
            Post.external_id,
            Issue.id,
            Issue.score,
            Issue.stage,
            Issue.first_seen,
            Post.collected_at,
            last_metric.c.last_at,
            Post.likes,
            Post.shares,
            Post.replies,
            Post.extra,
        )
        .join(IssuePost, IssuePost.post_id == Post.id)
        .join(Issue, Issue.id == IssuePost.issue_id)
        .join(Source, Source.id == Post.source_id)
        .outerjoin(last_metric, last_metric.c.post_id == Post.id)
        .where(Issue.status == IssueStatus.OPEN, Source.name.in_(list(sources)))
    )
    per_issue: dict[int, list[TrackTarget]] = defaultdict(list)
    with db.session() as session:
        for row in session.execute(stmt):
            (
                post_id,
                source,
                ext_id,
                issue_id,
                score,
                stage,
                first_seen,
                collected_at,
                last_at,
                likes,
                shares,
                replies,
                extra,
            ) = row
            if int((extra or {}).get("tracking_misses", 0)) >= MAX_MISSES:
                continue
            measured = max(collected_at, last_at) if last_at is not None else collected_at
            per_issue[issue_id].append(
                TrackTarget(
                    post_id=post_id,
                    source=source,
                    external_id=ext_id,
                    issue_id=issue_id,
                    issue_score=float(score or 0.0),
                    issue_stage=stage,
                    issue_first_seen=first_seen,
                    last_measured_at=measured,
                    engagement=int(likes + shares + replies),
                )
            )
    targets: list[TrackTarget] = []
    for posts in per_issue.values():
        posts.sort(key=lambda t: (-t.engagement, t.post_id))
        targets.extend(posts[:max_posts_per_issue])
    return targets


def run_tracking(
    db: Database,
    config: AppConfig,
    now: datetime,
    client: httpx.Client,
    collectors: Mapping[str, object],
    params: TrackingParams | None = None,
) -> TrackingReport:
    """Re-measure the due posts of open issues and store each reading as a snapshot.

    ``config`` is the :class:`monitor.kernel.config.AppConfig` (sources' ``daily_call_budget``
    and ``schedules.tracking_seconds`` are read). ``collectors`` maps source names to
    collector objects; those with a ``lookup`` method are tracked, the others ignored.
    A 401/403 marks the source ``auth_failed`` (no more calls until the token is fixed);
    a rate limit sets ``backoff_until``; other errors are reported and retried next run.
    """
    params = params or TrackingParams()
    report = TrackingReport(at=now)
    lookups = {name: c for name, c in collectors.items() if isinstance(c, _Lookup)}
    budgets = _budgets(db, config, now, lookups, params, report)
    targets = load_targets(db, list(budgets), params.max_posts_per_issue)
    decided = plan_detail(targets, now, budgets, slack=params.slack)
    report.due, report.deferred = decided.due, dict(decided.deferred)
    failed: set[str] = set()
    for batch in decided.batches:
        if batch.source in failed:
            continue
        collector = lookups[batch.source]
        try:
            readings, calls = collector.lookup(list(batch.external_ids), client, now)
        except SourceError as exc:
            failed.add(batch.source)
            _record_failure(db, batch.source, exc, now, report)
            continue
        except (httpx.HTTPError, ValueError) as exc:  # transport trouble or a collector bug: next run retries
            failed.add(batch.source)
            report.errors[batch.source] = f"{exc.__class__.__name__}: {exc}"
            log.warning("tracking %s failed: %s", batch.source, exc)
            continue
        report.batches += 1
        _store(db, batch, readings, calls, now, report, _live_rate_limit(collector))
    if report.readings or report.skipped or report.errors or report.rejected:
        log.info(
            "tracking: %d due, %d snapshots, %d rejected, calls %s, deferred %s, skipped %s",
            report.due,
            report.readings,
            report.rejected,
            report.calls,
            report.deferred,
            sorted(report.skipped),
        )
    return report


def _store(
    db: Database,
    batch: TrackBatch,
    readings: Sequence[MetricsReading],
    calls: int,
    now: datetime,
    report: TrackingReport,
    rate_limit: Mapping[str, Any],
) -> None:
    by_id = {r.external_id: r for r in readings}
    with db.session() as session:
        posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(list(batch.post_ids))))}
        for post_id, ext_id in zip(batch.post_ids, batch.external_ids, strict=True):
            post = posts.get(post_id)
            if post is None:
                continue
            reading = by_id.get(ext_id)
            extra = dict(post.extra or {})
            if reading is None:
                # Deleted, made private or out of the API's reach: stop after a few misses.
                extra["tracking_misses"] = int(extra.get("tracking_misses", 0)) + 1
                post.extra = extra
                report.missing += 1
                continue
            problems = (count_problem(name, getattr(reading, name)) for name in ("likes", "shares", "replies", "views"))
            problem = next((p for p in problems if p), None)
            if problem:
                # A corrupt reading is dropped alone (the old counts stay); the rest of the batch is stored.
                log.warning("tracking %s: reading of %.80r dropped: %s", batch.source, ext_id, problem)
                report.rejected += 1
                continue
            if extra.pop("tracking_misses", None) is not None:
                post.extra = extra
            counts = (
                max(reading.likes, 0),
                max(reading.shares, 0),
                max(reading.replies, 0),
                max(reading.views, 0),
            )
            post.likes, post.shares, post.replies, post.views = counts
            # Always a row, even when nothing changed: "flat" is evidence too, and marks the post measured.
            session.add(
                PostMetric(
                    post_id=post_id,
                    at=now,
                    likes=counts[0],
                    shares=counts[1],
                    replies=counts[2],
                    views=counts[3],
                )
            )
            report.snapshots.append(Snapshot(post_id, batch.source, now, *counts))
        source = session.scalar(select(Source).where(Source.name == batch.source))
        if source is not None:
            day = _day_key(now)
            if source.calls_day != day:
                source.calls_day, source.calls_today = day, 0
            source.calls_today += calls
            if rate_limit:
                source.rate_limit = {**(source.rate_limit or {}), "lookup": dict(rate_limit)}
    report.calls[batch.source] = report.calls.get(batch.source, 0) + calls


def _record_failure(db: Database, name: str, exc: SourceError, now: datetime, report: TrackingReport) -> None:
    report.errors[name] = str(exc)
    log.warning("tracking %s failed: %s", name, exc)
    with db.session() as session:
        row = session.scalar(select(Source).where(Source.name == name))
        if row is None:
            return
        row.last_error, row.last_error_at = str(exc)[:2000], now
        if isinstance(exc, AuthFailed):
            row.status = "auth_failed"  # the fetch job honours this too: one revoked token, no hammering
        elif isinstance(exc, RateLimited):
            row.status = "rate_limited"
            wait = exc.retry_after if exc.retry_after is not None else 900.0
            until = now + timedelta(seconds=wait)
            if row.backoff_until is None or row.backoff_until < until:
                row.backoff_until = until
