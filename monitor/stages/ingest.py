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

from sqlalchemy import func, literal, null, select, union_all, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased

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


def _storable(value: str | None) -> str | None:
    """``value`` without NUL: PostgreSQL text can neither store nor look one up, and one such URL used to
    fail its whole batch."""
    return value.replace("\x00", "") if value else value


def validate_item(item: RawItem, now: datetime) -> str | None:
    """Why an item cannot be stored, or None if it can."""
    if not item.external_id or not str(item.external_id).strip():
        return "no external id"
    if len(item.external_id) > 300:
        return "external id longer than 300 characters"
    if "\x00" in item.external_id:
        # Not storable on PostgreSQL, and removing it could make it another item's id.
        return "external id contains a NUL byte"
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
        return self.store_sources(session, [(source, items)], now)

    def store_sources(
        self, session: Session, batches: Sequence[tuple[Source, Sequence[RawItem]]], now: datetime
    ) -> IngestReport:
        """Store the items of several sources as one batch in the caller's transaction.

        The same rows as storing each source in turn with :meth:`store`, with one look-up (stored
        copies, first copies of each text and URL) and one insert per table for the whole batch
        instead of several statements per source: on PostgreSQL each statement is a round trip.
        """
        report = IngestReport()
        wave: list[_Candidate] = []
        identities: set[str] = set()
        sources: set[int] = set()
        for index, (source, items) in enumerate(batches):
            candidates = self._candidates(source, index, items, now, report)
            keys = {c.identity for c in candidates if c.identity}
            if keys & identities or source.id in sources:
                # The same platform post from two sources of one batch, or a source twice: what the later
                # ones find stored depends on the earlier ones (higher counts, known ids), so those go first.
                self._store_wave(session, wave, report, now)
                wave, identities, sources = [], set(), set()
            wave.extend(candidates)
            identities |= keys
            sources.add(source.id)
        self._store_wave(session, wave, report, now)
        return report

    def _candidates(
        self, source: Source, group: int, items: Sequence[RawItem], now: datetime, report: IngestReport
    ) -> list[_Candidate]:
        """The valid items of one source worth looking up (the last reading of an id wins), with their keys."""
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
        limit = self.config.ingest.max_text_chars
        out = []
        for item in latest.values():
            text = _clean_text(item.text or "", limit)
            title = _clean_text(item.title, 500) if item.title else None
            url = _storable(item.url)
            same = post_identity(item.platform, item.external_id, url)
            out.append(
                _Candidate(
                    source=source,
                    group=group,
                    item=item,
                    text=text,
                    title=title,
                    identity=same,
                    url=url,
                    canonical=same or (canonical_url(url) if url else None),
                    content_hash=content_hash(f"{title or ''}\n{text}"),
                )
            )
        return out

    def _store_wave(self, session: Session, wave: list[_Candidate], report: IngestReport, now: datetime) -> None:
        if not wave:
            return
        known = _look_up(session, wave)
        counts: dict[int, list[int]] = {}
        """Post id -> its engagement counts as this batch leaves them (several items may read one post)."""
        readings: list[tuple[int, tuple[int, int, int, int]]] = []
        platforms: dict[int, str] = {}
        fresh: list[_Candidate] = []
        taken: set[tuple[int, str]] = set()
        for cand in wave:
            item = cand.item
            stored = known.existing.get((cand.source.id, item.external_id))
            if stored is not None:
                report.duplicates += 1
                now_counts = counts.setdefault(stored.id, list(stored.counts))
                new = (item.likes, item.shares, item.replies, item.views)
                if new != tuple(now_counts):
                    now_counts[:] = new
                    readings.append((stored.id, new))
                    report.updated += 1
                continue
            if cand.identity is None:
                fresh.append(cand)
                continue
            same = known.by_url.get(cand.identity)
            if same is None:
                if (cand.group, cand.identity) not in taken:
                    taken.add((cand.group, cand.identity))
                    fresh.append(cand)
                else:
                    report.duplicates += 1
                continue
            # A platform post already stored: the stored row keeps its place and takes the higher counts
            # (an export is a stale reading; counts only grow) and, if stored as a bare import, the platform.
            report.duplicates += 1
            now_counts = counts.setdefault(same.id, list(same.counts))
            seen = (item.likes, item.shares, item.replies, item.views)
            higher = tuple(max(a, b) for a, b in zip(now_counts, seen, strict=True))
            if higher != tuple(now_counts):
                now_counts[:] = higher
                readings.append((same.id, (higher[0], higher[1], higher[2], higher[3])))
                report.updated += 1
            if platforms.get(same.id, same.platform) == "import" and item.platform != "import":
                platforms[same.id] = item.platform
        if readings or platforms:
            self._write_readings(session, readings, counts, platforms, now)
        if not fresh:
            return
        rows = self._rows(fresh, now)
        ids = _new_post_ids(session, len(rows))
        linker = _Linker(known)
        linked = [linker.link(row, post_id, c.group) for c, row, post_id in zip(fresh, rows, ids, strict=True)]
        try:
            with session.begin_nested():
                self._insert(session, linked, now)
            report.stored += len(rows)
        except _STORE_ERRORS as batch_exc:
            if isinstance(batch_exc, SQLAlchemyError) and database_unavailable(batch_exc):
                raise  # an outage is not a bad item: fail the run so nothing is counted as rejected
            # Find the bad one(s): retry each item alone so the others are kept. Each one sees those
            # stored before it as stored, as when items come in separate batches.
            linker = _Linker(known)
            for position, (cand, row, post_id) in enumerate(zip(fresh, rows, ids, strict=True)):
                one = linker.link(row, post_id, position)
                try:
                    with session.begin_nested():
                        self._insert(session, [one], now)
                    report.stored += 1
                except _STORE_ERRORS as exc:
                    if isinstance(exc, SQLAlchemyError) and database_unavailable(exc):
                        raise
                    linker.own = {}  # not stored: nothing is a copy of it
                    report.rejected += 1
                    msg = (
                        f"source {cand.source.name}: item {cand.item.external_id[:80]!r} not stored: "
                        f"{exc.__class__.__name__}"
                    )
                    report.errors.append(msg)
                    log.warning(msg)

    @staticmethod
    def _write_readings(
        session: Session,
        readings: list[tuple[int, tuple[int, int, int, int]]],
        counts: dict[int, list[int]],
        platforms: dict[int, str],
        now: datetime,
    ) -> None:
        """A snapshot per new engagement reading of a stored post; the post takes the batch's last counts."""
        read = {post_id for post_id, _ in readings}
        updates: list[dict[str, Any]] = []
        for post_id in sorted(read | set(platforms)):
            values: dict[str, Any] = {"id": post_id}
            if post_id in read:
                likes, shares, replies, views = counts[post_id]
                values.update(likes=likes, shares=shares, replies=replies, views=views)
            if post_id in platforms:
                values["platform"] = platforms[post_id]
            updates.append(values)
        for keys in sorted({tuple(sorted(u)) for u in updates}):  # an executemany needs one set of columns
            session.execute(
                update(Post),
                [u for u in updates if tuple(sorted(u)) == keys],
                execution_options={"synchronize_session": False},
            )
        if readings:
            bulk_insert(
                session,
                table_of(PostMetric),
                [
                    {"post_id": pid, "at": now, "likes": c[0], "shares": c[1], "replies": c[2], "views": c[3]}
                    for pid, c in readings
                ],
            )

    def _rows(self, fresh: list[_Candidate], now: datetime) -> list[dict[str, Any]]:
        # Core rows, not ORM objects: this runs for every collected post, and one ORM object per row
        # cost four times the insert itself (bench/ingest.py profile).
        pseudonymise = self.pseudonymise
        return [
            {
                "source_id": c.source.id,
                "platform": c.item.platform,
                "external_id": c.item.external_id,
                "kind": c.item.kind,
                "url": c.url,
                "canonical_url": c.canonical,
                "author_key": pseudonymise(c.item.author),
                "title": c.title,
                "text": c.text,
                "parent_external_id": _storable(c.item.parent_id),
                "created_at": c.item.created_at,
                "collected_at": now,
                "content_hash": c.content_hash,
                "likes": c.item.likes,
                "shares": c.item.shares,
                "replies": c.item.replies,
                "views": c.item.views,
                "extra": dict(c.item.extra),
                "stage": "new",
                "duplicate_of_id": None,
                "region_code": c.source.region_code,
            }
            for c in fresh
        ]

    @staticmethod
    def _insert(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
        """Insert posts (with their ids and copies linked) and the first engagement reading of each."""
        bulk_insert(session, table_of(Post), rows)
        metrics = [
            {
                "post_id": row["id"],
                "at": now,
                "likes": row["likes"],
                "shares": row["shares"],
                "replies": row["replies"],
                "views": row["views"],
            }
            for row in rows
            if row["likes"] or row["shares"] or row["replies"] or row["views"]
        ]
        if metrics:
            bulk_insert(session, table_of(PostMetric), metrics)


@dataclass(slots=True)
class _Candidate:
    """A valid item of a batch with what its look-up needs (computed once, also for the row)."""

    source: Source
    group: int
    """Position of its source in the batch: rows of earlier sources count as already stored."""
    item: RawItem
    text: str
    title: str | None
    identity: str | None
    url: str | None
    """The item's URL as stored (without NUL)."""
    canonical: str | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    counts: tuple[int, int, int, int]
    platform: str


@dataclass(slots=True)
class _Known:
    """What the batch's one look-up found among the stored posts."""

    existing: dict[tuple[int, str], _Stored]
    """(source id, external id) -> that post."""
    by_url: dict[str, _Stored]
    """Canonical URL -> its first stored post."""
    by_hash: dict[str, int]
    """Content hash -> id of its first stored post."""


class _Linker:
    """Marks the same story arriving again (same text or canonical URL) as a copy of its first copy.

    A copy points to the first copy stored: a stored post, else the first row of an earlier group
    (source) of the batch, as if that source had been stored first, else the first earlier row of its
    own group. Text before URL, each looked up in that order.
    """

    def __init__(self, known: _Known) -> None:
        self.known = known
        self.first: dict[str, int] = {}
        """Key -> id of the first row of an earlier group with it."""
        self.own: dict[str, int] = {}
        """Key -> id of the first row of the current group with it."""
        self.group: int | None = None

    def link(self, row: dict[str, Any], post_id: int, group: int) -> dict[str, Any]:
        """``row`` with its ``id`` and ``duplicate_of_id``."""
        if group != self.group:
            self.close_group()
            self.group = group
        keys = ["h:" + row["content_hash"]] + (["u:" + row["canonical_url"]] if row["canonical_url"] else [])
        copy_of = None
        for k in keys:
            stored = self.known.by_hash.get(k[2:]) if k[0] == "h" else _stored_id(self.known.by_url.get(k[2:]))
            if stored is None:
                stored = self.first.get(k)
            if stored is not None:
                copy_of = stored
                break
        if copy_of is None:
            copy_of = next((self.own[k] for k in keys if k in self.own), None)
        for k in keys:
            self.own.setdefault(k, post_id)
        return {"id": post_id, **row, "duplicate_of_id": copy_of}

    def close_group(self) -> None:
        for k, v in self.own.items():
            self.first.setdefault(k, v)
        self.own = {}


def _stored_id(stored: _Stored | None) -> int | None:
    return stored.id if stored is not None else None


_FIRST_COPY = aliased(Post)
"""The first copy's probe in ``_look_up``, apart from the outer row it selects. Made once: a new alias per
batch built its column proxies again on every store (~5 % of the demo's store stage), and the statement is
the same either way."""


def _look_up(session: Session, wave: list[_Candidate]) -> _Known:
    """One statement: the batch's items already stored, and the first stored post of each text and URL.

    Each value list is bound as one parameter (``value_list``): one prepared statement whatever the
    batch, and one round trip on PostgreSQL. The first copy is one ``min(id)`` probe of the (value, id)
    indexes (migration 0004), so a story shared thousands of times returns one row, not thousands.
    """
    sources = sorted({c.source.id for c in wave})
    external = sorted({c.item.external_id for c in wave})
    urls = sorted({c.canonical for c in wave if c.canonical})
    hashes = sorted({c.content_hash for c in wave})
    url_list, hash_list = value_list(session, Post.canonical_url, urls), value_list(session, Post.content_hash, hashes)
    post = (Post.id, Post.likes, Post.shares, Post.replies, Post.views, Post.platform)
    existing = select(literal("e").label("kind"), Post.source_id, Post.external_id.label("value"), *post).where(
        one_of(session, Post.source_id, sources), one_of(session, Post.external_id, external)
    )
    if url_list is None or hash_list is None:  # a database with neither arrays nor json_each: a query each
        return _look_up_each(session, existing, urls, hashes)
    other = _FIRST_COPY
    first_url = select(func.min(other.id)).where(other.canonical_url == url_list.c.value).scalar_subquery()
    by_url = select(literal("u"), null(), url_list.c.value, *post).join_from(url_list, Post, Post.id == first_url)
    first_hash = select(func.min(Post.id)).where(Post.content_hash == hash_list.c.value).scalar_subquery()
    nothing = (null(), null(), null(), null(), null())
    by_hash = select(literal("h"), null(), hash_list.c.value, first_hash, *nothing).select_from(hash_list)
    return _known(session.execute(union_all(existing, by_url, by_hash)).all())


def _look_up_each(session: Session, existing: Any, urls: list[str], hashes: list[str]) -> _Known:
    rows = list(session.execute(existing).all())
    post = (Post.id, Post.likes, Post.shares, Post.replies, Post.views, Post.platform)
    for column, values, kind in ((Post.canonical_url, urls, "u"), (Post.content_hash, hashes, "h")):
        for start in range(0, len(values), INSERT_CHUNK):
            chunk = values[start : start + INSERT_CHUNK]
            firsts = select(func.min(Post.id)).where(one_of(session, column, chunk)).group_by(column)
            rows.extend(session.execute(select(literal(kind), null(), column, *post).where(Post.id.in_(firsts))).all())
    return _known(rows)


def _known(rows: Iterable[Any]) -> _Known:
    known = _Known({}, {}, {})
    for kind, source_id, value, post_id, *rest in rows:
        if post_id is None:
            continue
        if kind == "h":
            known.by_hash[value] = post_id
            continue
        likes, shares, replies, views, platform = rest
        stored = _Stored(post_id, (likes, shares, replies, views), platform)
        if kind == "e":
            known.existing[(source_id, value)] = stored
        else:
            known.by_url[value] = stored
    return known


def _new_post_ids(session: Session, n: int) -> list[int]:
    """``n`` ids for new posts, taken before the insert: no read-back of the ids COPY cannot return.

    PostgreSQL: from the table's own sequence (what a plain insert would take). SQLite: what it would
    assign itself (the largest id plus one, no AUTOINCREMENT); the transaction holds the write lock
    (``BEGIN IMMEDIATE``), so no other writer takes them meanwhile.
    """
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        seq = func.nextval(func.pg_get_serial_sequence("posts", "id"))
        return sorted(session.scalars(select(seq).select_from(func.generate_series(1, n))))
    top = session.scalar(select(func.max(Post.id))) or 0
    return list(range(top + 1, top + 1 + n))


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
    # One transaction and one look-up per ``batch`` items, whichever sources they come from.
    chunks: list[tuple[str, list[RawItem]]] = []
    size = 0
    for name, group in by_source.items():
        for start in range(0, len(group), batch):
            part = group[start : start + batch]
            while part:
                room = batch - size
                chunks.append((name, part[:room]))
                size += len(part[:room])
                part = part[room:]
                if size == batch:
                    report.add(_store_chunks(db, ingestor, chunks, now, kind))
                    chunks, size = [], 0
    if chunks:
        report.add(_store_chunks(db, ingestor, chunks, now, kind))
    return report


def _store_chunks(
    db: Database, ingestor: Ingestor, chunks: list[tuple[str, list[RawItem]]], now: datetime, kind: str
) -> IngestReport:
    with db.session() as session:
        return ingestor.store_sources(
            session, [(ingestor.source_row(session, name, kind), part) for name, part in chunks], now
        )
