"""Store collected items: idempotent, batched, one bad item never costs the batch.

The same (source, external id) never makes a second row; a newer engagement
count on a known post is appended as a metrics snapshot instead. Nor does the same
platform post arriving through two sources (a tweet in an import file and fetched from
X): it is one post, counted once as evidence. Authors are pseudonymised here, before
anything is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.orm import QueryableAttribute, Session

from collectors.base import RawItem
from collectors.common import count_problem
from collectors.dedupe import canonical_url, content_hash
from monitor.kernel.config import AppConfig
from monitor.kernel.privacy import AuthorPseudonymiser
from monitor.store.db import Database, bulk_insert, one_of, value_list
from monitor.store.models import Post, PostMetric, Source, table_of

log = logging.getLogger(__name__)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
INSERT_CHUNK = 900  # ids per IN list, under every database's bound-parameter limit
_X_STATUS = re.compile(
    r"^https?://(?:[a-z0-9-]+\.)*(?:x|twitter)\.com/(?:i/web/|i/|[A-Za-z0-9_]{1,30}/)status(?:es)?/(\d{1,25})(?:[/?#]|$)",
    re.IGNORECASE,
)


def post_identity(platform: str, external_id: str, url: str | None) -> str | None:
    """One name for one platform post whichever source brought it, or None when it cannot be told.

    A tweet is ``https://x.com/i/status/<id>`` whether it came as ``twitter.com/<user>/status/<id>``
    in an import file, ``x.com/i/web/status/<id>`` or from the X collector (whose external id is the
    tweet id). It is stored as the post's canonical URL, so URL look-ups and copy links use it too.
    """
    found = _X_STATUS.match(url) if url else None
    if found is not None:
        return f"https://x.com/i/status/{found.group(1)}"
    if platform == "x" and external_id.isdigit():
        return f"https://x.com/i/status/{external_id}"
    return None


@dataclass
class IngestReport:
    """Counts of what one ingest call did."""

    stored: int = 0
    duplicates: int = 0
    """Already stored (same source and external id)."""
    updated: int = 0
    """Known posts with a new engagement reading (a snapshot was appended)."""
    rejected: int = 0
    filtered: int = 0
    """No OKI evidence at all: not stored (pre-filter)."""
    errors: list[str] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.updated += other.updated
        self.rejected += other.rejected
        self.filtered += other.filtered
        self.errors.extend(other.errors)


_STORE_ERRORS = (SQLAlchemyError, OverflowError, ValueError, TypeError)
"""A database error, or what one unstorable value raises before the driver wraps it (sqlite3:
OverflowError for an integer beyond 64 bits): either way the item alone is rejected."""


def database_unavailable(exc: SQLAlchemyError) -> bool:
    """A lost connection, lock timeout or deadlock: retry later, never skip the items as bad."""
    if isinstance(exc, OperationalError | InterfaceError | PendingRollbackError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _clean_text(text: str, limit: int) -> str:
    # PostgreSQL rejects NUL in text; lone surrogates cannot be encoded to UTF-8.
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


def validate_item(item: RawItem, now: datetime) -> str | None:
    """Why an item cannot be stored, or None if it can."""
    if not item.external_id or not str(item.external_id).strip():
        return "no external id"
    if len(item.external_id) > 300:
        return "external id longer than 300 characters"
    if not (item.text or "").strip() and not (item.title or "").strip():
        return "empty text"
    if item.created_at.tzinfo is None:
        return "created_at has no timezone"
    if item.created_at < EARLIEST:
        return f"created_at {item.created_at.isoformat()} is before 2000"
    if item.created_at > now + FUTURE_TOLERANCE:
        return f"created_at {item.created_at.isoformat()} is in the future"
    for name in ("likes", "shares", "replies", "views"):
        problem = count_problem(name, getattr(item, name))
        if problem:
            return problem
    return None


class Ingestor:
    """Stores RawItems for one configured deployment."""

    def __init__(self, config: AppConfig, pseudonymise: AuthorPseudonymiser | None = None) -> None:
        from monitor.domain.prefilter import has_oki_evidence

        self.config = config
        self.pseudonymise = pseudonymise or AuthorPseudonymiser.from_config(config)
        self._evidence = has_oki_evidence
        self._region_evidence: dict[str, Callable[[str], bool]] = {}

    def evidence_of(self, code: str) -> Callable[[str], bool]:
        """The pre-filter for the items of a source in region `code`: any evidence of its places at all.

        OKI (the hand-tuned gazetteer) keeps the cheap name scan; another region asks its own
        gazetteer (built once per process), so a regency's posts are not dropped for naming no OKI place.
        """
        found = self._region_evidence.get(code)
        if found is None:
            gazetteer = self.config.region_of(code).gazetteer()
            if gazetteer is None:
                found = self._evidence
            else:
                from classifiers.normalise import normalise

                def found(text: str) -> bool:
                    return gazetteer.evidence(normalise(text)).positive

            self._region_evidence[code] = found
        return found

    def source_row(self, session: Session, name: str, kind: str) -> Source:
        """The Source row for ``name``, created on first use, in the region the config gives it
        (``AppConfig.source_region``: its region file's; a source no file names: the own region's).

        The config is the truth about the sources it defines: a source moved to another region's
        file takes that region from now on (its stored posts keep theirs).
        """
        region = self.config.source_region(name)
        row = session.scalar(select(Source).where(Source.name == name))
        if row is None:
            row = Source(name=name, kind=kind, enabled=True, cursor={}, region_code=region)
            session.add(row)
            session.flush()
        elif row.region_code != region:
            row.region_code = region
        return row

    def store(self, session: Session, source: Source, items: Sequence[RawItem], now: datetime) -> IngestReport:
        """Store one batch in the caller's transaction; bad items are logged and skipped."""
        report = IngestReport()
        latest: dict[str, RawItem] = {}
        evidence = self.evidence_of(source.region_code) if self.config.ingest.prefilter else self._evidence
        for item in items:
            problem = validate_item(item, now)
            if problem:
                report.rejected += 1
                msg = f"source {source.name}: item {str(item.external_id)[:80]!r} skipped: {problem}"
                report.errors.append(msg)
                log.warning(msg)
                continue
            if self.config.ingest.prefilter and not evidence(f"{item.title or ''} {item.text}"):
                report.filtered += 1
                continue
            latest[item.external_id] = item  # duplicate ids within one page: the last reading wins
        if not latest:
            return report
        existing = {
            p.external_id: p
            for p in session.scalars(
                select(Post).where(Post.source_id == source.id, one_of(session, Post.external_id, list(latest)))
            )
        }
        fresh: list[RawItem] = []
        for ext_id, item in latest.items():
            post = existing.get(ext_id)
            if post is None:
                fresh.append(item)
                continue
            report.duplicates += 1
            counts = (item.likes, item.shares, item.replies, item.views)
            if counts != (post.likes, post.shares, post.replies, post.views):
                self._reading(session, post, counts, now)
                report.updated += 1
        if fresh:
            fresh = self._same_posts(session, fresh, report, now)
        if fresh:
            try:
                with session.begin_nested():
                    self._insert(session, source, fresh, now)
                report.stored += len(fresh)
            except _STORE_ERRORS as batch_exc:
                if isinstance(batch_exc, SQLAlchemyError) and database_unavailable(batch_exc):
                    raise  # an outage is not a bad item: fail the run so nothing is counted as rejected
                # Find the bad one(s): retry each item alone so the others are kept.
                for item in fresh:
                    try:
                        with session.begin_nested():
                            self._insert(session, source, [item], now)
                        report.stored += 1
                    except _STORE_ERRORS as exc:
                        if isinstance(exc, SQLAlchemyError) and database_unavailable(exc):
                            raise
                        report.rejected += 1
                        msg = (
                            f"source {source.name}: item {item.external_id[:80]!r} not stored: {exc.__class__.__name__}"
                        )
                        report.errors.append(msg)
                        log.warning(msg)
        return report

    @staticmethod
    def _reading(session: Session, post: Post, counts: tuple[int, int, int, int], now: datetime) -> None:
        post.likes, post.shares, post.replies, post.views = counts
        session.add(
            PostMetric(post_id=post.id, at=now, likes=counts[0], shares=counts[1], replies=counts[2], views=counts[3])
        )

    def _same_posts(self, session: Session, items: list[RawItem], report: IngestReport, now: datetime) -> list[RawItem]:
        """Drop items that are a platform post already stored (from any source, or earlier in the batch).

        The stored post keeps its row and takes the higher engagement counts (an export is a stale
        reading; counts only grow) and, if it was stored as a bare ``import``, the real platform.
        """
        identity = {id(item): post_identity(item.platform, item.external_id, item.url) for item in items}
        wanted = sorted({v for v in identity.values() if v})
        if not wanted:
            return items
        known: dict[str, Post] = {}
        for start in range(0, len(wanted), INSERT_CHUNK):
            for row in session.scalars(
                select(Post)
                .where(one_of(session, Post.canonical_url, wanted[start : start + INSERT_CHUNK]))
                .order_by(Post.id)
            ):
                if row.canonical_url is not None:
                    known.setdefault(row.canonical_url, row)
        keep: list[RawItem] = []
        taken: set[str] = set()
        for item in items:
            key = identity[id(item)]
            if key is None:
                keep.append(item)
                continue
            post = known.get(key)
            if post is None:
                if key not in taken:
                    taken.add(key)
                    keep.append(item)
                else:
                    report.duplicates += 1
                continue
            report.duplicates += 1
            stored = (post.likes, post.shares, post.replies, post.views)
            counts = (item.likes, item.shares, item.replies, item.views)
            higher = tuple(max(a, b) for a, b in zip(stored, counts, strict=True))
            if higher != stored:
                self._reading(session, post, (higher[0], higher[1], higher[2], higher[3]), now)
                report.updated += 1
            if post.platform == "import" and item.platform != "import":
                post.platform = item.platform
        return keep

    def _insert(self, session: Session, source: Source, items: Iterable[RawItem], now: datetime) -> None:
        # Core bulk statements, not ORM objects: this runs for every collected post, and one
        # ORM object per row cost four times the insert itself (bench/ingest.py profile).
        limit = self.config.ingest.max_text_chars
        rows: list[dict[str, Any]] = []
        for item in items:
            text = _clean_text(item.text or "", limit)
            title = _clean_text(item.title, 500) if item.title else None
            same = post_identity(item.platform, item.external_id, item.url)
            rows.append(
                {
                    "source_id": source.id,
                    "platform": item.platform,
                    "external_id": item.external_id,
                    "kind": item.kind,
                    "url": item.url,
                    "canonical_url": same or (canonical_url(item.url) if item.url else None),
                    "author_key": self.pseudonymise(item.author),
                    "title": title,
                    "text": text,
                    "parent_external_id": item.parent_id,
                    "created_at": item.created_at,
                    "collected_at": now,
                    "content_hash": content_hash(f"{title or ''}\n{text}"),
                    "likes": item.likes,
                    "shares": item.shares,
                    "replies": item.replies,
                    "views": item.views,
                    "extra": dict(item.extra),
                    "stage": "new",
                    "duplicate_of_id": None,
                    "region_code": source.region_code,
                }
            )
        if not rows:
            return
        copies = self._link_duplicates(session, rows)
        # A plain executemany, then the ids by (source, external id): an ordered RETURNING makes
        # SQLAlchemy insert row by row on SQLite (no sentinel column), several times slower.
        bulk_insert(session, table_of(Post), rows)
        by_external: dict[str, int] = {}
        external = [row["external_id"] for row in rows]
        for start in range(0, len(external), INSERT_CHUNK):
            by_external.update(
                (ext, pid)
                for pid, ext in session.execute(
                    select(Post.id, Post.external_id).where(
                        Post.source_id == source.id,
                        one_of(session, Post.external_id, external[start : start + INSERT_CHUNK]),
                    )
                )
            )
        ids = [by_external[ext] for ext in external]
        if copies:
            session.execute(update(Post), [{"id": ids[i], "duplicate_of_id": ids[j]} for i, j in copies])
        metrics = [
            {
                "post_id": post_id,
                "at": now,
                "likes": row["likes"],
                "shares": row["shares"],
                "replies": row["replies"],
                "views": row["views"],
            }
            for post_id, row in zip(ids, rows, strict=True)
            if row["likes"] or row["shares"] or row["replies"] or row["views"]
        ]
        if metrics:
            bulk_insert(session, table_of(PostMetric), metrics)

    @staticmethod
    def _link_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
        """Mark the same story arriving through another source (same canonical URL or same text).

        Copies of a stored post get ``duplicate_of_id`` in ``rows`` before the insert; copies of an
        earlier row of the same batch are returned as (row index, original row index) pairs, to be
        linked once the new ids are known.
        """
        hashes = {r["content_hash"] for r in rows}
        urls = {r["canonical_url"] for r in rows if r["canonical_url"]}
        earlier: dict[str, int] = {}
        for h, pid in _first_copies(session, Post.content_hash, sorted(hashes)):
            earlier["h:" + h] = pid
        if urls:
            for u, pid in _first_copies(session, Post.canonical_url, sorted(urls)):
                if u:
                    earlier["u:" + u] = pid
        seen: dict[str, int] = {}
        copies: list[tuple[int, int]] = []
        for index, row in enumerate(rows):
            keys = ["h:" + row["content_hash"]] + (["u:" + row["canonical_url"]] if row["canonical_url"] else [])
            stored = next((earlier[k] for k in keys if k in earlier), None)
            if stored is not None:
                row["duplicate_of_id"] = stored
            else:
                first = next((seen[k] for k in keys if k in seen), None)
                if first is not None:
                    copies.append((index, first))
            for k in keys:
                seen.setdefault(k, index)
        return copies


def _first_copies(session: Session, column: QueryableAttribute[Any], values: list[str]) -> Iterable[tuple[str, int]]:
    """(value, smallest post id) for each of ``values`` some stored post has in ``column``.

    The first stored copy only: a story shared thousands of times must not return thousands of rows.
    One ``min(id)`` per value, which the (value, id) index answers with one probe (migration 0004;
    SQLite's index on the value alone already ends in the rowid); ``min(id) ... GROUP BY value``
    read every stored copy (its row, on PostgreSQL), so the look-up grew with the copies.
    """
    wanted = value_list(session, column, values)
    if wanted is None:
        return [
            (v, pid)
            for pid, v in session.execute(
                select(func.min(Post.id), column).where(one_of(session, column, values)).group_by(column)
            )
        ]
    first = select(func.min(Post.id)).where(column == wanted.c.value).scalar_subquery()
    return [(v, pid) for v, pid in session.execute(select(wanted.c.value, first)) if pid is not None]


def ingest_raw(
    db: Database, config: AppConfig, items: Sequence[RawItem], now: datetime, *, kind: str = "import"
) -> IngestReport:
    """Store items from any origin (import file, push API), grouped by their source name."""
    ingestor = Ingestor(config)
    report = IngestReport()
    by_source: dict[str, list[RawItem]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item)
    batch = config.ingest.batch_size
    for name, group in by_source.items():
        for start in range(0, len(group), batch):
            with db.session() as session:
                source = ingestor.source_row(session, name, kind)
                report.add(ingestor.store(session, source, group[start : start + batch], now))
    return report
