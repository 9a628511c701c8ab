"""Database tables (SQLAlchemy 2). The database is the queue between stages.

Times are stored as naive UTC and always returned timezone-aware (UTC), so
SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor.kernel.regions import DEFAULT_REGION


class IssueStatus(StrEnum):
    """An issue's place in its life, as stored in ``issues.status``."""

    OPEN = "open"
    CLOSED = "closed"
    """Quiet for long enough."""
    RESOLVED = "resolved"
    """Resolved by the agency."""
    MERGED = "merged"
    """Folded into another issue."""


class AlertKind(StrEnum):
    """What an alert says, as stored in ``alerts.kind``; its Bahasa prefix is in :mod:`alerts.render`."""

    FIRST = "first"
    CRISIS = "crisis"
    UPDATE = "update"
    REPEAT = "repeat"
    ESCALATION = "escalation"
    REGRESSION = "regression"
    GROUP = "group"
    DIGEST = "digest"
    SOURCE_HEALTH = "source_health"
    DELIVERY_FAILED = "delivery_failed"
    INFO = "info"


class DeliveryStatus(StrEnum):
    """Where one delivery of an alert stands, as stored in ``deliveries.status``."""

    PENDING = "pending"
    SENDING = "sending"
    """Claimed by a sender; back to pending or failed when the sender dies mid-send."""
    SENT = "sent"
    FAILED = "failed"
    """Will be retried."""
    DEAD = "dead"
    """Permanent failure, shown to admins."""


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive input (a bug upstream)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass a timezone-aware time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for bulk statements that skip the ORM's per-row work."""
    return cast(Table, model.__table__)


# ``region_code`` (migration 0012) is the Kemendagri code of the kabupaten/kota a row belongs to. A server
# default only, so a row written in an older schema's shape (Core inserts, older code) is the default
# region's, as every row was before regions, and bulk inserts that leave it out stay on the fast path.


class Source(Base):
    """A configured collector and its cursor and health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    backoff_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="ok")
    """ok | disabled | error | auth_failed | rate_limited"""
    items_last_run: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # Server default only: an INSERT written for an older schema (migration tests, old code) stays valid.
    rejected_last_run: Mapped[int] = mapped_column(Integer, server_default="0")
    """Items of the last run rejected (bad item: reason below; the rest of the batch was stored)."""
    last_reject: Mapped[str | None] = mapped_column(Text)
    """Why items were rejected or dropped, as of ``last_reject_at`` (a few reasons, one a line)."""
    last_reject_at: Mapped[datetime | None]
    calls_day: Mapped[str | None] = mapped_column(String(10))
    calls_today: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)
    """The region of the config that defines the source; its posts take it at ingest."""


class Post(Base):
    """One public post, comment or news item; unique per source and external id."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id", name="uq_posts_source_external"),
        Index("ix_posts_created_at", "created_at"),
        # With the id: the first stored copy of a text or URL is one index probe (migration 0004).
        Index("ix_posts_content_hash_id", "content_hash", "id"),
        Index("ix_posts_canonical_url_id", "canonical_url", "id"),
        # With the region: a worker's pipeline pass reads one region's waiting posts (migration 0014).
        Index("ix_posts_stage_region", "stage", "region_code", "id"),
        Index("ix_posts_region_created", "region_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    platform: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default="post")
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    author_key: Mapped[str | None] = mapped_column(String(100))
    """Pseudonymised author (keyed hash) unless privacy.pseudonymise_authors is off."""
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    """Raw text; set to NULL by the retention purge."""
    parent_external_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    collected_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    """Same story already stored through another source or as a repost."""
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    replies: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stage: Mapped[str] = mapped_column(String(20), default="new")
    """Pipeline position: new → classified → grouped | filtered (not relevant / not a complaint)."""
    purged_at: Mapped[datetime | None]
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)
    """Its source's region, copied at ingest (an issue holds posts of one region only)."""


class PostMetric(Base):
    """An engagement snapshot of a post: virality is growth, so every reading is kept."""

    __tablename__ = "post_metrics"
    __table_args__ = (Index("ix_post_metrics_post_at", "post_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    replies: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)


class Label(Base):
    """What one model version said about one post."""

    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("post_id", "model_version", name="uq_labels_post_model"),
        Index("ix_labels_topic_kec", "topic", "kecamatan"),
        # The triage list reads uncertain labels newest first (monitor/reports/triage.py).
        Index("ix_labels_triage", "needs_triage", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(80))
    relevant: Mapped[bool] = mapped_column(Boolean)
    relevance_score: Mapped[float] = mapped_column(Float)
    is_complaint: Mapped[bool] = mapped_column(Boolean)
    complaint_score: Mapped[float] = mapped_column(Float)
    topic: Mapped[str] = mapped_column(String(40))
    topic_score: Mapped[float] = mapped_column(Float)
    agency_code: Mapped[str | None] = mapped_column(String(40))
    kecamatan: Mapped[str | None] = mapped_column(String(40))
    desa: Mapped[str | None] = mapped_column(String(80))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency_cues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(Float)
    needs_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class LabelCorrection(Base):
    """A human correction of a label; kept apart from model output and fed to retraining."""

    __tablename__ = "label_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(30))
    """relevant | is_complaint | topic | kecamatan | agency"""
    value: Mapped[str] = mapped_column(String(80))
    text: Mapped[str | None] = mapped_column(Text)
    """Copy of the post text at correction time, so retraining survives the retention purge."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(30), default="dashboard")
    """dashboard | telegram | email"""
    created_at: Mapped[datetime]


class Issue(Base):
    """One real-world problem, gathered from the posts about it."""

    __tablename__ = "issues"
    __table_args__ = (
        Index("ix_issues_status_score", "status", "score"),
        Index("ix_issues_agency", "agency_code", "status"),
        # The dashboard's board fingerprint reads max() of these two on every refresh.
        Index("ix_issues_updated_at", "updated_at"),
        Index("ix_issues_acknowledged_at", "acknowledged_at"),
        Index("ix_issues_region_status", "region_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    kecamatan: Mapped[str | None] = mapped_column(String(40))
    desa: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=IssueStatus.OPEN.value)
    """An :class:`IssueStatus`."""
    stage: Mapped[str] = mapped_column(String(20), default="baru")
    """A :class:`classifiers.virality.Stage`."""
    score: Mapped[float] = mapped_column(Float, default=0.0)
    p_viral: Mapped[float] = mapped_column(Float, default=0.0)
    eta_minutes: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    buzzer_suspected: Mapped[bool] = mapped_column(Boolean, default=False)
    regression: Mapped[bool] = mapped_column(Boolean, default=False)
    """Came back after it was marked resolved."""
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    author_count: Mapped[int] = mapped_column(Integer, default=0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Bag of normalised words (term → weight) used to match new posts."""
    # Server-side defaults only: rows written in an older schema's shape (Core inserts) stay valid.
    facets: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    """What its posts are about and where (``monitor.domain.incident``): ``topics`` and ``kecamatan`` / ``desa``
    ("kecamatan|desa") → weight of the posts naming them, and ``secondary``: [{topic, agency}] of the
    facets whose agency is only informed."""
    response_status: Mapped[str] = mapped_column(String(20), server_default="belum_ditanggapi")
    """The responsible agency's answer (``monitor.domain.response``), apart from the virality ``stage``:
    belum_ditanggapi | diterima | diproses | selesai | bukan_keluhan."""
    assigned_at: Mapped[datetime | None]
    """When the current agency's clock started: its first alert, a reroute to it, or a regression."""
    response_at: Mapped[datetime | None]
    """When ``response_status`` last changed."""
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)
    """The region of its first post; grouping never adds a post of another region."""


class IssuePost(Base):
    """Membership of a post in an issue (a post belongs to one issue at a time)."""

    __tablename__ = "issue_posts"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    similarity: Mapped[float] = mapped_column(Float, default=1.0)
    is_spread: Mapped[bool] = mapped_column(Boolean, default=False)
    """A repost, quote, syndicated copy or comment: spread of an existing post, not a new voice."""
    is_response: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """The government answering (a statement, promise, action): part of the issue, not a complaint."""
    added_at: Mapped[datetime]
    post_created_at: Mapped[datetime]
    """The post's ``created_at``, copied here (it never changes) so an issue's timeline (its newest
    originals, its posts per hour) is read from one index instead of fetching every member post."""


Index(
    "ix_issue_posts_timeline",
    IssuePost.issue_id,
    IssuePost.is_spread,
    IssuePost.post_created_at.desc(),
)


class IssueEvent(Base):
    """History of an issue: created, merged, split, resolved, reopened, stage changes."""

    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_issue", "issue_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(String(100))


class IssueResponse(Base):
    """One step of an agency's answer to an issue (``monitor.domain.response``), kept for the timeline and
    for the performance figures: who, when (UTC; shown in WIB), for which agency, with the note.

    ``kind``: ``assigned`` (the agency's clock starts: first alert, or rerouted to it), ``status``
    (diterima / diproses / selesai / bukan_keluhan), ``rerouted`` (status ``salah_dinas``: the
    agency's clock stops; ``to_agency`` takes over with its own ``assigned`` row at the same time),
    ``snoozed`` (``until``), ``reopened`` (a regression after ``selesai``: status back to
    belum_ditanggapi, a fresh clock).
    """

    __tablename__ = "issue_responses"
    __table_args__ = (
        Index("ix_issue_responses_issue", "issue_id", "at"),
        Index("ix_issue_responses_agency", "agency_code", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    """The agency that held the issue at this step (whose clock it is)."""
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    """The issue's response status after this step (``salah_dinas`` for the agency it left)."""
    previous_status: Mapped[str | None] = mapped_column(String(20))
    to_agency: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(Text)
    until: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    """dashboard | api | telegram | email | sistem"""
    at: Mapped[datetime]


class Signal(Base):
    """A virality assessment of an issue (or a topic × kecamatan scope) at one time, with evidence."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_issue_at", "issue_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"))
    scope: Mapped[str | None] = mapped_column(String(100))
    """For scope-level signals: 'topic:kecamatan'."""
    at: Mapped[datetime]
    stage: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    spike: Mapped[bool] = mapped_column(Boolean, default=False)
    p_viral: Mapped[float] = mapped_column(Float, default=0.0)
    eta_minutes: Mapped[float | None] = mapped_column(Float)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    authors: Mapped[int] = mapped_column(Integer, default=0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    velocity: Mapped[float] = mapped_column(Float, default=0.0)
    platforms: Mapped[int] = mapped_column(Integer, default=0)
    news_pickup: Mapped[int] = mapped_column(Integer, default=0)
    buzzer_suspected: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Agency(Base):
    """An OPD (or a non-Pemkab body) that receives alerts; mirrored from config."""

    __tablename__ = "agencies"
    # Every regency has its own "pupr": a code is unique within its region (migration 0012).
    __table_args__ = (UniqueConstraint("region_code", "code", name="uq_agencies_region_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    non_pemkab: Mapped[bool] = mapped_column(Boolean, default=False)
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)


class Alert(Base):
    """A decision to tell a receiver about an issue; stored with its deliveries in one transaction."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_issue_receiver", "issue_id", "receiver"),
        Index("ix_alerts_region", "region_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"))
    receiver: Mapped[str] = mapped_column(String(100))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    """first | update | repeat | escalation | regression | group | digest | source_health | crisis | delivery_failed"""
    stage: Mapped[str | None] = mapped_column(String(20))
    parent_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    """The first alert of this issue to this receiver (updates refer to it)."""
    created_at: Mapped[datetime]
    ack_token: Mapped[str] = mapped_column(String(64), unique=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    ack_due_at: Mapped[datetime | None]
    respond_due_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Everything the renderer needs, frozen at decision time."""
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)
    """Its issue's region (the default region for an alert about no issue)."""


class Delivery(Base):
    """The outbox: one message to one recipient over one channel."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    channel: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    """A :class:`DeliveryStatus`."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(200))
    """The channel's id for the sent message (Telegram message_id, SMTP Message-ID)."""
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    """The sender that claimed it last: only that sender may send it while its lease runs."""


class DeliveryAttempt(Base):
    """Each try at sending a delivery, kept for the dashboard and for audits."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[float | None] = mapped_column(Float)


class Silence(Base):
    """Mute alerts matching some labels until a time (Alertmanager-style)."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    until_escalation: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """A dashboard user: admin, comms, agency (bound to one agency) or analyst."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    region_code: Mapped[str | None] = mapped_column(String(5))
    """The one region the user sees; NULL: every region (province comms, admins, and every user
    made before regions existed)."""


class AuditLog(Base):
    """Who did, exported or viewed what (UU PDP accountability)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobRun(Base):
    """Each scheduled job: its last run (liveness), when it is due next and who runs it now.

    ``oki-monitor worker`` processes claim due rows (``next_due_at`` passed, no live lease) with
    ``FOR UPDATE SKIP LOCKED`` (monitor/store/jobs.py); the row ``scheduler-lease`` is the single
    APScheduler lease of ``oki-monitor run`` on SQLite.
    """

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    """The scheduled time of the next run; advanced from the scheduled time, not from the finish."""
    runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Runs started by workers (taken-over runs count again): what an operator compares with the plan."""


class ModelRun(Base):
    """One scheduled (or hand-started) retrain: the scores of both models and why it promoted or refused."""

    __tablename__ = "model_runs"
    __table_args__ = (Index("ix_model_runs_started", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")
    """schedule | cli"""
    status: Mapped[str] = mapped_column(String(20))
    """promoted | refused | skipped | failed"""
    current_version: Mapped[str | None] = mapped_column(String(80))
    candidate_version: Mapped[str | None] = mapped_column(String(80))
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    corrections_dropped: Mapped[int] = mapped_column(Integer, default=0)
    """Corrections left out because their text is in the blind set (it must stay unseen)."""
    tolerance: Mapped[float] = mapped_column(Float, default=0.0)
    current_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    candidate_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """[{"code": ..., "message": ...}] in Bahasa Indonesia, the decision's reasons in order."""
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    """Hash of what the candidate would be trained and judged on: an unchanged one is not retrained."""
    model_path: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class ScopeCount(Base):
    """Aggregated complaint counts per hour, topic and kecamatan: kept after the raw posts are purged."""

    __tablename__ = "scope_counts"
    __table_args__ = (
        UniqueConstraint(
            "hour", "topic", "kecamatan", "agency_code", "platform", "region_code", name="uq_scope_counts"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hour: Mapped[datetime]
    topic: Mapped[str] = mapped_column(String(40))
    kecamatan: Mapped[str] = mapped_column(String(40), default="")
    agency_code: Mapped[str] = mapped_column(String(40), default="")
    platform: Mapped[str] = mapped_column(String(30), default="")
    posts: Mapped[int] = mapped_column(Integer, default=0)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    region_code: Mapped[str] = mapped_column(String(5), server_default=DEFAULT_REGION)


class WebSession(Base):
    """A signed-in browser. Shared by every web worker, so ``web.workers`` can be more than one.

    Only a SHA-256 of the cookie's random id is stored: a copy of the database does not
    hand out live sessions.
    """

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user", "user_id"), Index("ix_sessions_last_seen", "last_seen_at"))

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AlertThread(Base):
    """One conversation per issue and recipient: where its first message went and what it showed.

    Updates reply to ``external_id`` (Telegram message id, e-mail Message-ID) under the
    subject fixed at the first message; the chart is sent again only when ``chart_hash`` changes.
    """

    __tablename__ = "alert_threads"
    __table_args__ = (UniqueConstraint("issue_id", "channel", "recipient", name="uq_alert_threads"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    channel: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(300))
    receiver: Mapped[str] = mapped_column(String(100))
    first_alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    """The e-mail subject every message of the thread carries ("[OKI-12] Jembatan ambruk – ...")."""
    chart_hash: Mapped[str | None] = mapped_column(String(64))
    """Hash of the growth data the last chart sent in this thread was drawn from."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LoginThrottleRow(Base):
    """Failed login attempts of one account (``user:NAME``) or client address (``ip:ADDR``).

    In the database so every web worker counts the same attempts (see :mod:`monitor.web.throttle`).
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last", "last_failure_at"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]


class LaporanInbox(Base):
    """A message forwarded to the monitor ("Lapor ke monitor"), from acceptance to the reply.

    Accepted by the Telegram poller/webhook or the WhatsApp webhook (``alerts.inbound.accept``),
    read into a post of source ``laporan`` by its collector (``collectors.laporan``; the post's
    external id is ``<channel>-<id>``), answered by the reply pass once the post is classified and
    grouped. ``status``: ``baru`` (waiting for the collector), ``disimpan`` (a post exists),
    ``ditolak`` (refused at acceptance: allow-list, rate limit, size, kind), ``gagal`` (nothing
    readable). ``reply_status``: ``menunggu``, ``terkirim``, ``gagal`` (given up), ``tidak_perlu``.
    ``reply_to`` (chat id or number) is cleared once the reply is sent or given up (UU PDP).
    """

    __tablename__ = "laporan_inbox"
    __table_args__ = (
        UniqueConstraint("channel", "message_key", name="uq_laporan_inbox_message"),
        Index("ix_laporan_inbox_sender", "sender_key", "received_at"),
        Index("ix_laporan_inbox_reply", "reply_status", "reply_next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_key: Mapped[str] = mapped_column(String(200))
    """The channel's own message identity (``tg:<chat>:<message_id>``, ``wa:<wamid>``): redelivery is ignored."""
    sender_key: Mapped[str | None] = mapped_column(String(100))
    """The forwarder, pseudonymised like post authors (rate limit per sender)."""
    reply_to: Mapped[str | None] = mapped_column(String(100))
    reply_ref: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="baru")
    reason: Mapped[str | None] = mapped_column(Text)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    reply_status: Mapped[str] = mapped_column(String(20), default="menunggu")
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_next_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
