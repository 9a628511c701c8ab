"""The assess stage: re-assess open issues' virality (stage, score, P(viral)) and refresh their titles.

Writes the issue's new figures, a ``signals`` row and, on a stage change, an ``issue_events`` row.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.calibration import DEFAULT_PATH as DEFAULT_CALIBRATION
from classifiers.calibration import Calibration, load_calibration
from classifiers.spike import DetectorMemo
from classifiers.virality import EngagementReading, PostEvent, assess
from monitor.domain.titles import best_phrase, make_title, words_of
from monitor.kernel.config import AppConfig
from monitor.stages.group import post_text
from monitor.store.db import one_of
from monitor.store.models import Issue, IssueEvent, IssuePost, IssueStatus, Post, PostMetric, Signal

log = logging.getLogger(__name__)


NEWS_PLATFORMS = frozenset({"rss", "googlenews"})


SIGNAL_EVERY = timedelta(minutes=5)

DETECTOR_MEMO = DetectorMemo()
"""The spike detector's state per open issue, kept between passes: a pass runs only the bins added since the last
one (the issue's whole series from its first post was a third of the demo's CPU). An issue's bins end at the
pass's ``now``, so this holds when passes are whole bins apart (the demo, backtests); a pass off that grid runs
the whole series, as before. Entries are checked against the series they were made from, so one shared by two
databases in a process is only a miss."""


def engagement_of(likes: int, shares: int, replies: int, views: int) -> float:
    """One engagement number: shares weigh most (they spread), views least (cheap, often inflated)."""
    return likes + 2.0 * shares + 1.5 * replies + 0.01 * views


FOLLOWERS = Post.extra["followers"].label("followers")
"""Only that field of ``extra``: reading every post's whole document on every pass buys nothing."""


def followers_of(extra: Mapping[str, Any] | None) -> float:
    """The posting account's followers as the collector reported them (``extra["followers"]``), 0 when unknown."""
    value = (extra or {}).get("followers")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)


TITLE_CANDIDATES = 20
"""How many of an issue's most-engaged original posts its title phrase is chosen from."""


def _refresh_title(session: Session, issue: Issue, posts: Sequence[Any]) -> None:
    """Title the issue with the phrase its most-seen original posts share (``monitor.domain.titles``).

    Skipped while the issue's posts are the ones the title was last chosen from: grouping rewrites the term
    vector (and drops the marker) whenever posts join, and choosing again every pass cost a third of the pass.
    """
    marker = [len(posts), max(p.id for p in posts)]
    terms = issue.terms or {}
    if terms.get("t") == marker:
        return
    originals = [p for p in posts if not p.is_spread] or list(posts)
    originals.sort(key=lambda p: (-engagement_of(p.likes, p.shares, p.replies, p.views), p.id))
    ids = [p.id for p in originals[:TITLE_CANDIDATES]]
    # In id order: on a tie the earlier post's phrase wins, the same on every pass and database.
    rows = session.execute(select(Post.title, Post.text).where(one_of(session, Post.id, ids)).order_by(Post.id))
    texts = [post_text(row) for row in rows]
    weights = terms.get("w", {})
    phrase = best_phrase(
        texts, weights, current=words_of(issue.title), places=(issue.kecamatan or "", issue.desa or "")
    )
    title = make_title(issue.topic, issue.kecamatan, issue.desa, weights, phrase)
    if title != issue.title:
        issue.title = title
    issue.terms = {**terms, "t": marker}


@functools.cache
def forecast_calibration() -> Calibration | None:
    """The shipped calibration of P(viral) (read once); None, with a warning, when it is missing or broken.

    Without it the stage and alerts are the same; only the probability shown is the model's own.
    """
    try:
        calibration = load_calibration(DEFAULT_CALIBRATION)
    except ValueError as exc:
        log.warning("%s: %s; P(viral) is shown uncalibrated", DEFAULT_CALIBRATION, exc)
        return None
    if calibration is None:
        log.warning("%s missing; P(viral) is shown uncalibrated", DEFAULT_CALIBRATION)
    return calibration


ISSUES_PER_QUERY = 500
"""Issues whose posts, readings and last signal one query reads (bounded lists)."""


def _waiting(session: Session, issue_ids: list[int], now: datetime) -> dict[int, datetime]:
    """The issues that can wait, with their latest signal's time: signalled within SIGNAL_EVERY, and no post
    joined, no post's time reached and no engagement reading taken since.

    With nothing new, time alone only cools an issue (posts leave the window, the fitted rate falls), so
    re-reading it on every pass (every region's pass, every minute) bought nothing but CPU; it is re-read at
    the cadence its signals are written at, and at once when something arrives. Asked with aggregates, so a
    pass over quiet issues reads a row per issue, not every post of every open issue.
    """
    waiting: dict[int, datetime] = {}
    for start in range(0, len(issue_ids), ISSUES_PER_QUERY):
        chunk = issue_ids[start : start + ISSUES_PER_QUERY]
        for issue_id, at in session.execute(
            select(Signal.issue_id, func.max(Signal.at))
            .where(one_of(session, Signal.issue_id, chunk))
            .group_by(Signal.issue_id)
        ):
            if issue_id is not None and timedelta(0) <= now - at < SIGNAL_EVERY:
                waiting[issue_id] = at
    ids = sorted(waiting)
    for start in range(0, len(ids), ISSUES_PER_QUERY):
        chunk = ids[start : start + ISSUES_PER_QUERY]
        for issue_id, added, created in session.execute(
            select(IssuePost.issue_id, func.max(IssuePost.added_at), func.max(Post.created_at))
            .join(Post, IssuePost.post_id == Post.id)
            .where(one_of(session, IssuePost.issue_id, chunk), Post.created_at <= now, IssuePost.is_response.is_(False))
            .group_by(IssuePost.issue_id)
        ):
            if added > waiting[issue_id] or created > waiting[issue_id]:
                del waiting[issue_id]
        chunk = [i for i in chunk if i in waiting]
        if not chunk:
            continue
        for issue_id, at in session.execute(
            select(IssuePost.issue_id, func.max(PostMetric.at))
            .join(IssuePost, IssuePost.post_id == PostMetric.post_id)
            .where(one_of(session, IssuePost.issue_id, chunk), PostMetric.at <= now, IssuePost.is_response.is_(False))
            .group_by(IssuePost.issue_id)
        ):
            if at > waiting[issue_id]:
                del waiting[issue_id]
    return waiting


def _issue_inputs(
    session: Session, issue_ids: list[int], now: datetime
) -> tuple[dict[int, list[Any]], dict[int, list[Any]], dict[int, datetime]]:
    """What assessing reads of each issue: its posts, its engagement readings (by time) and its last signal's time.

    Three queries for all the issues, not three per issue: a pass assesses every open issue of its region,
    and with dozens of open issues the round trips and statement overhead per issue were most of the pass.
    """
    posts: dict[int, list[Any]] = defaultdict(list)
    readings: dict[int, list[Any]] = defaultdict(list)
    last: dict[int, datetime] = {}
    for start in range(0, len(issue_ids), ISSUES_PER_QUERY):
        chunk = issue_ids[start : start + ISSUES_PER_QUERY]
        # Plain rows, not ORM objects: this runs for every open issue on every pipeline pass. assess_issues
        # unpacks them in this column order (here and in the readings below).
        for row in session.execute(
            select(
                IssuePost.issue_id,
                Post.id,
                Post.created_at,
                Post.author_key,
                Post.platform,
                Post.kind,
                Post.likes,
                Post.shares,
                Post.replies,
                Post.views,
                FOLLOWERS,
                IssuePost.is_spread,
                IssuePost.added_at,
            )
            .join(IssuePost, IssuePost.post_id == Post.id)
            # The government's responses are part of the issue, not complaints: not growth, not the title.
            .where(one_of(session, IssuePost.issue_id, chunk), Post.created_at <= now, IssuePost.is_response.is_(False))
            .order_by(IssuePost.issue_id, Post.id)
        ):
            posts[row.issue_id].append(row)
        reading: Any
        for reading in session.execute(
            select(
                IssuePost.issue_id,
                PostMetric.at,
                PostMetric.post_id,
                PostMetric.likes,
                PostMetric.shares,
                PostMetric.replies,
                PostMetric.views,
            )
            .join(IssuePost, IssuePost.post_id == PostMetric.post_id)
            .where(one_of(session, IssuePost.issue_id, chunk), PostMetric.at <= now, IssuePost.is_response.is_(False))
            .order_by(IssuePost.issue_id, PostMetric.at)
        ):
            readings[reading.issue_id].append(reading)
        for issue_id, at in session.execute(
            select(Signal.issue_id, func.max(Signal.at))
            .where(one_of(session, Signal.issue_id, chunk))
            .group_by(Signal.issue_id)
        ):
            if issue_id is not None:
                last[issue_id] = at
    return posts, readings, last


def assess_issues(
    session: Session,
    config: AppConfig,
    now: datetime,
    issue_ids: set[int] | None = None,
    region: str | None = None,
) -> tuple[int, list[tuple[int, str, str]]]:
    """Re-assess open issues' virality (``region``: of that region only); returns (count, [(issue id, old stage,
    new stage)])."""
    query = select(Issue).where(Issue.status == IssueStatus.OPEN)
    if region is not None:
        query = query.where(Issue.region_code == region)
    if issue_ids is not None:
        query = query.where(Issue.id.in_(issue_ids))
    issues = list(session.scalars(query))
    changes: list[tuple[int, str, str]] = []
    calibration = forecast_calibration()
    waiting = _waiting(session, [i.id for i in issues], now)
    issues = [i for i in issues if i.id not in waiting]
    posts_of, readings_of, last_signal = _issue_inputs(session, [i.id for i in issues], now)
    for issue in issues:
        posts = posts_of.get(issue.id)
        if not posts:
            continue
        last = last_signal.get(issue.id)
        _refresh_title(session, issue, posts)
        # Rows unpacked in _issue_inputs' column order: a row's attributes by name cost ~0.5 µs each, a tenth of
        # a second per pass over a big issue's posts and readings, every issue, every pass.
        events = [
            PostEvent(
                at=created,
                author=author or f"anon-{post_id}",
                platform=platform,
                engagement=engagement_of(likes, shares, replies, views),
                is_news=platform in NEWS_PLATFORMS or kind == "news",
                key=str(post_id),
                reach=followers_of({"followers": followers}),
            )
            for _, post_id, created, author, platform, kind, likes, shares, replies, views, followers, *_ in posts
        ]
        readings = [
            EngagementReading(
                at=at,
                post_key=str(post_id),
                engagement=engagement_of(likes, shares, replies, views),
                spread=float(shares + replies),
            )
            for _, at, post_id, likes, shares, replies, views in readings_of.get(issue.id, ())
        ]
        result = assess(
            events,
            readings,
            now,
            config.virality,
            previous_stage=issue.stage,
            calibration=calibration,
            memo=DETECTOR_MEMO,
            key=issue.id,
        )
        old = issue.stage
        issue.stage, issue.score, issue.p_viral = result.stage, result.score, result.p_viral
        issue.eta_minutes = result.eta_minutes
        issue.author_count, issue.engagement = result.authors, result.engagement
        issue.buzzer_suspected = result.buzzer_suspected
        issue.post_count = len(posts)
        issue.updated_at = now
        if old != result.stage or last is None or now - last >= SIGNAL_EVERY:
            session.add(
                Signal(
                    issue_id=issue.id,
                    at=now,
                    stage=result.stage,
                    score=result.score,
                    spike=result.spike,
                    p_viral=result.p_viral,
                    eta_minutes=result.eta_minutes,
                    mentions=result.mentions,
                    authors=result.authors,
                    engagement=result.engagement,
                    velocity=result.velocity,
                    platforms=result.platforms,
                    news_pickup=result.news_pickup,
                    buzzer_suspected=result.buzzer_suspected,
                    reasons=list(result.reasons),
                )
            )
        if old != result.stage:
            changes.append((issue.id, old, result.stage))
            session.add(
                IssueEvent(
                    issue_id=issue.id,
                    at=now,
                    kind="stage",
                    detail={"from": old, "to": result.stage, "reasons": list(result.reasons)},
                    actor="sistem",
                )
            )
    return len(issues), changes
