"""The stages after ingest, each re-runnable on stored data: classify → group → assess → alert.

Every stage reads its input from the database and writes its output there in
one transaction per batch, so a crash between stages loses nothing and a
restart continues where it stopped.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from classifiers.calibration import DEFAULT_PATH as DEFAULT_CALIBRATION
from classifiers.calibration import Calibration, load_calibration
from classifiers.labels import Labels
from classifiers.normalise import normalise
from classifiers.virality import EngagementReading, PostEvent, assess
from monitor.kernel.config import AppConfig
from monitor.store.db import Database, bulk_insert, one_of
from monitor.domain.incident import is_response
from monitor.stages.group import IssueGrouper, close_quiet, post_text, simhashes, terms_of_normalised
from monitor.kernel.metrics import observe_classify
from monitor.store.models import Issue, IssueEvent, IssuePost, Label, Post, PostMetric, ScopeCount, Signal, table_of
from monitor.domain.titles import best_phrase, make_title, words_of

log = logging.getLogger(__name__)

NEWS_PLATFORMS = frozenset({"rss", "googlenews"})
SIGNAL_EVERY = timedelta(minutes=5)


class Classifier(Protocol):
    version: str

    def predict(self, texts: list[str]) -> list[Labels]: ...


@dataclass
class PipelineReport:
    classified: int = 0
    complaints: int = 0
    grouped: int = 0
    new_issues: int = 0
    regressions: int = 0
    assessed: int = 0
    stage_changes: list[tuple[int, str, str]] = field(default_factory=list)
    closed: int = 0
    alerts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def engagement_of(likes: int, shares: int, replies: int, views: int) -> float:
    """One engagement number: shares weigh most (they spread), views least (cheap, often inflated)."""
    return likes + 2.0 * shares + 1.5 * replies + 0.01 * views


def classify_new(
    session: Session, classifier: Classifier, config: AppConfig, now: datetime, limit: int = 2000
) -> tuple[int, int]:
    """Label posts not yet read; returns (classified, complaints kept for grouping)."""
    # Plain rows and Core statements: this stage sees every collected post.
    posts = session.execute(
        select(
            Post.id,
            Post.title,
            Post.text,
            Post.created_at,
            Post.platform,
            Post.likes,
            Post.shares,
            Post.replies,
            Post.views,
        )
        .where(Post.stage == "new")
        .order_by(Post.id)
        .limit(limit)
    ).all()
    if not posts:
        return 0, 0
    texts = [
        f"{p.title}. {p.text}" if p.title and p.title not in (p.text or "") else (p.text or p.title or "")
        for p in posts
    ]
    started = time.perf_counter()
    labels = classifier.predict(texts)
    observe_classify(time.perf_counter() - started)
    labels = _incident_places(session, posts, texts, labels)
    rows: list[dict[str, object]] = []
    kept_ids: list[int] = []
    filtered_ids: list[int] = []
    counts: dict[tuple[datetime, str, str, str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for post, lab in zip(posts, labels, strict=True):
        agency = config.routing.get(lab.topic)
        rows.append(
            {
                "post_id": post.id,
                "model_version": classifier.version,
                "relevant": lab.relevant,
                "relevance_score": lab.relevance_score,
                "is_complaint": lab.is_complaint,
                "complaint_score": lab.complaint_score,
                "topic": lab.topic,
                "topic_score": lab.topic_score,
                "agency_code": agency,
                "kecamatan": lab.kecamatan,
                "desa": lab.desa,
                "urgent": lab.urgent,
                "urgency_cues": list(lab.urgency_cues),
                "confidence": lab.confidence,
                "needs_triage": lab.needs_triage,
                "created_at": now,
            }
        )
        # A government statement is no complaint, but it belongs to the issue it answers: the grouper
        # joins it as a response (or drops it when it answers nothing).
        grouped = lab.relevant and (lab.is_complaint or is_response(post_text(post)))
        (kept_ids if grouped else filtered_ids).append(post.id)
        if lab.relevant:
            hour = post.created_at.replace(minute=0, second=0, microsecond=0)
            key = (hour, lab.topic, lab.kecamatan or "", agency or "", post.platform)
            agg = counts[key]
            agg[0] += 1
            agg[1] += 1 if lab.is_complaint else 0
            agg[2] += engagement_of(post.likes, post.shares, post.replies, post.views)
    bulk_insert(session, table_of(Label), rows)
    for stage, ids in (("classified", kept_ids), ("filtered", filtered_ids)):
        for start in range(0, len(ids), 500):  # bounded IN lists
            session.execute(
                update(Post).where(one_of(session, Post.id, ids[start : start + 500])).values(stage=stage),
                execution_options={"synchronize_session": False},
            )
    kept = len(kept_ids)
    _add_scope_counts(session, counts)
    return len(posts), kept


def _incident_places(session: Session, posts: Sequence[Any], texts: list[str], labels: list[Labels]) -> list[Labels]:
    """A post a rising incident's tracked query fetched names the incident's place (monitor/stages/tracked_queries.py).

    Only the few posts stored with ``extra["incident"]`` are read again (a text match on the JSON
    keeps the others' extra unread).
    """
    from sqlalchemy import Text, cast

    from monitor.stages.tracked_queries import place_from_incident

    first, last = posts[0].id, posts[-1].id
    found = {
        post_id: extra["incident"]
        for post_id, extra in session.execute(
            select(Post.id, Post.extra).where(
                Post.id >= first, Post.id <= last, cast(Post.extra, Text).like('%"incident"%')
            )
        )
        if isinstance(extra, dict) and isinstance(extra.get("incident"), dict)
    }
    if not found:
        return labels
    return [
        place_from_incident(lab, text, found[post.id]) if post.id in found else lab
        for post, text, lab in zip(posts, texts, labels, strict=True)
    ]


def _add_scope_counts(session: Session, counts: dict[tuple[datetime, str, str, str, str], list[float]]) -> None:
    """Hourly aggregates that survive the retention purge (trends read these)."""
    if not counts:
        return
    rows: list[dict[str, Any]] = [
        {
            "hour": hour,
            "topic": topic,
            "kecamatan": kec,
            "agency_code": agency,
            "platform": platform,
            "posts": int(n),
            "complaints": int(c),
            "engagement": eng,
        }
        for (hour, topic, kec, agency, platform), (n, c, eng) in counts.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # One upsert statement for the batch: a query and a flush per key was most of this stage.
        dialect_insert = sqlite_insert if dialect == "sqlite" else pg_insert
        table = table_of(ScopeCount)
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["hour", "topic", "kecamatan", "agency_code", "platform"],
            set_={
                "posts": table.c.posts + stmt.excluded.posts,
                "complaints": table.c.complaints + stmt.excluded.complaints,
                "engagement": table.c.engagement + stmt.excluded.engagement,
            },
        )
        session.execute(stmt, rows)
        return
    for row in rows:  # other databases: read, then add or update
        key = {k: row[k] for k in ("hour", "topic", "kecamatan", "agency_code", "platform")}
        existing = session.scalar(select(ScopeCount).filter_by(**key))
        if existing is None:
            session.add(ScopeCount(**row))
            session.flush()
        else:
            existing.posts += row["posts"]
            existing.complaints += row["complaints"]
            existing.engagement += row["engagement"]


def group_new(session: Session, config: AppConfig, now: datetime, limit: int = 2000) -> tuple[int, int, int, set[int]]:
    """Place classified complaint posts into issues; returns (grouped, new issues, regressions, touched ids)."""
    grouper = IssueGrouper(config, deferred=True)
    # Plain rows, not ORM objects: grouping reads a few columns of every complaint post.
    rows = session.execute(
        select(
            Post.id,
            Post.source_id,
            Post.title,
            Post.text,
            Post.created_at,
            Post.duplicate_of_id,
            Post.parent_external_id,
            Label.topic,
            Label.kecamatan,
            Label.desa,
            Label.urgent,
        )
        .join(Label, Label.post_id == Post.id)
        .where(Post.stage == "classified")
        .order_by(Post.created_at, Post.id)
        .limit(limit)
    ).all()
    grouped = created = regressions = 0
    touched: set[int] = set()
    seen_posts: set[int] = set()
    unique = []
    for row in rows:
        if row.id not in seen_posts:  # several model versions: the first row wins
            seen_posts.add(row.id)
            unique.append(row)
    if unique:
        grouper.preload(session, min(row.created_at for row in unique))
        grouper.prefetch_origins(session, unique)
    # Words and signatures of the whole batch up front: signing posts together is one numpy pass.
    norms = [normalise(post_text(row)).lower() for row in unique]
    bags = [terms_of_normalised(norm) for norm in norms]
    for row, terms, sig, norm in zip(unique, bags, simhashes(bags), norms, strict=True):
        placement = grouper.place(session, row, row, now, terms=terms, sig=sig, norm=norm)
        grouped += 1
        created += placement.created
        regressions += placement.regression
        if placement.issue_id is not None:
            touched.add(placement.issue_id)
    grouper.write_pending(session)
    return grouped, created, regressions, touched


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


def assess_issues(
    session: Session, config: AppConfig, now: datetime, issue_ids: set[int] | None = None
) -> tuple[int, list[tuple[int, str, str]]]:
    """Re-assess open issues' virality; returns (count, [(issue id, old stage, new stage)])."""
    query = select(Issue).where(Issue.status == "open")
    if issue_ids is not None:
        query = query.where(Issue.id.in_(issue_ids))
    issues = list(session.scalars(query))
    changes: list[tuple[int, str, str]] = []
    calibration = forecast_calibration()
    for issue in issues:
        # Plain rows, not ORM objects: this runs for every open issue on every pipeline pass.
        posts = session.execute(
            select(
                Post.id,
                Post.created_at,
                Post.author_key,
                Post.platform,
                Post.kind,
                Post.likes,
                Post.shares,
                Post.replies,
                Post.views,
                IssuePost.is_spread,
            )
            .join(IssuePost, IssuePost.post_id == Post.id)
            # The government's responses are part of the issue, not complaints: not growth, not the title.
            .where(IssuePost.issue_id == issue.id, Post.created_at <= now, IssuePost.is_response.is_(False))
        ).all()
        if not posts:
            continue
        _refresh_title(session, issue, posts)
        events = [
            PostEvent(
                at=p.created_at,
                author=p.author_key or f"anon-{p.id}",
                platform=p.platform,
                engagement=engagement_of(p.likes, p.shares, p.replies, p.views),
                is_news=p.platform in NEWS_PLATFORMS or p.kind == "news",
            )
            for p in posts
        ]
        readings = [
            EngagementReading(
                at=m.at, post_key=str(m.post_id), engagement=engagement_of(m.likes, m.shares, m.replies, m.views)
            )
            for m in session.execute(
                select(
                    PostMetric.at,
                    PostMetric.post_id,
                    PostMetric.likes,
                    PostMetric.shares,
                    PostMetric.replies,
                    PostMetric.views,
                )
                .join(IssuePost, IssuePost.post_id == PostMetric.post_id)
                .where(IssuePost.issue_id == issue.id, PostMetric.at <= now, IssuePost.is_response.is_(False))
                .order_by(PostMetric.at)
            )
        ]
        result = assess(events, readings, now, config.virality, previous_stage=issue.stage, calibration=calibration)
        old = issue.stage
        issue.stage, issue.score, issue.p_viral = result.stage, result.score, result.p_viral
        issue.eta_minutes = result.eta_minutes
        issue.author_count, issue.engagement = result.authors, result.engagement
        issue.buzzer_suspected = result.buzzer_suspected
        issue.post_count = len(posts)
        issue.updated_at = now
        last = session.scalar(select(Signal.at).where(Signal.issue_id == issue.id).order_by(Signal.at.desc()).limit(1))
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


AlertHook = Callable[[Session, AppConfig, datetime], Sequence[object]]


def run_pipeline(
    db: Database,
    classifier: Classifier,
    config: AppConfig,
    now: datetime,
    *,
    alert_hook: AlertHook | None = None,
    batch: int = 2000,
) -> PipelineReport:
    """One pass of every stage after ingest. Safe to run again at any time."""
    report = PipelineReport()
    t0 = time.perf_counter()
    while True:
        with db.session() as session:
            n, kept = classify_new(session, classifier, config, now, limit=batch)
        report.classified += n
        report.complaints += kept
        if n < batch:
            break
    t1 = time.perf_counter()
    touched: set[int] = set()
    while True:
        with db.session() as session:
            g, created, regressions, ids = group_new(session, config, now, limit=batch)
        report.grouped += g
        report.new_issues += created
        report.regressions += regressions
        touched |= ids
        if g < batch:
            break
    t2 = time.perf_counter()
    with db.session() as session:
        report.assessed, report.stage_changes = assess_issues(session, config, now)
        report.closed = close_quiet(session, config, now)
        if alert_hook is not None:
            # Same transaction as the stage decision: an alert is never decided and lost.
            report.alerts = len(alert_hook(session, config, now))
    t3 = time.perf_counter()
    report.seconds = {"classify": t1 - t0, "group": t2 - t1, "assess_alert": t3 - t2}
    return report
