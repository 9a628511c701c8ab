"""Group labelled posts into issues: one real-world problem each.

A post joins the open issue of the same topic and place whose words it shares
most, if they are close in time; reposts, quotes, replies and syndicated copies
join as *spread* of the post they copy. Users can merge, split and resolve; the
history is kept in ``issue_events``. A resolved issue that comes back is
reopened as a regression.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from classifiers.normalise import normalise
from monitor.domain.incident import (
    ANCHOR_SHARE,
    CandidateView,
    Decision,
    PostView,
    Rules,
    decide,
    desa_named,
    event_anchors,
    is_response_normalised,
    majority_place,
    names_place,
    primary_topic,
    secondary_topics,
)
from monitor.domain.prefilter import place_words
from monitor.domain.titles import best_phrase, make_title, words_of
from monitor.kernel.config import AppConfig
from monitor.kernel.regions import DEFAULT_REGION
from monitor.store.db import bulk_insert, one_of
from monitor.store.ledger import record_reopened
from monitor.store.models import Issue, IssueEvent, IssuePost, Label, Post, table_of

# Words that say nothing about *which* problem a post is about.
_STOP = frozenset(
    """
    a ada admin akan aku atau bagaimana banget bapak belum besok bisa bu dan dari deh dengan desa di dia
    dong ga gak gimana hari ibu ilir ini itu jadi juga kab kabupaten kah kami kamu kapan karena ke kec
    kecamatan kelurahan kemarin kita kok komering lagi lah masih mereka min mohon nggak nya ogan oki
    pada pak pemkab pun rt rw saja sama sampai sangat saya sejak sekali sih sudah tak the tidak tolong
    untuk warga ya yang
    """.split()
)
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
CROSS_TOPIC_PENALTY = 0.2
"""Extra similarity a post needs to join an issue the classifier filed under another topic."""
SIMHASH_NEAR = 6
"""Max differing bits between two 64-bit simhashes for near-duplicate texts."""


class PostFacts(Protocol):
    """What grouping reads of a post: a stored ``Post`` or a plain row with these columns."""

    @property
    def id(self) -> int: ...
    @property
    def source_id(self) -> int: ...
    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def duplicate_of_id(self) -> int | None: ...
    @property
    def parent_external_id(self) -> str | None: ...
    @property
    def region_code(self) -> str: ...


class LabelFacts(Protocol):
    """What grouping reads of a post's label: a stored ``Label``, a ``Labels`` value or a plain row."""

    @property
    def topic(self) -> str: ...
    @property
    def kecamatan(self) -> str | None: ...
    @property
    def desa(self) -> str | None: ...
    @property
    def urgent(self) -> bool: ...


class TextFacts(Protocol):
    """What a post's text is made of: a stored ``Post``, a ``PostFacts`` or a plain (title, text) row."""

    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...


def post_text(post: TextFacts) -> str:
    """The text grouping and titles read of a post: its title and its text."""
    return f"{post.title or ''} {post.text or ''}"


def post_terms(post: PostFacts) -> Counter[str]:
    """The words grouping compares for a post (``terms_of`` its ``post_text``)."""
    return terms_of(post_text(post))


def terms_of(text: str) -> Counter[str]:
    """Content words of a text, normalised the way the classifier reads it."""
    return terms_of_normalised(normalise(text).lower())


def terms_of_normalised(norm: str) -> Counter[str]:
    """``terms_of`` a text already normalised and lower-cased (grouping reads that text for places too)."""
    words = _WORD.findall(norm)
    places = place_words()  # the place is matched separately (kecamatan, desa), not as shared words
    return Counter(w for w in words if w not in _STOP and w not in places)


@lru_cache(maxsize=65536)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


_BITS = np.arange(64, dtype=np.uint64)


@lru_cache(maxsize=32768)
def _word_signs(word: str) -> np.ndarray:
    """+1/-1 per bit of the word's 64-bit hash (cached: the same words recur in every post; int8 keeps
    the cache near 5 MB when full)."""
    bits = (np.uint64(_word_hash(word)) >> _BITS) & np.uint64(1)
    return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


def simhash(terms: Counter[str]) -> int:
    """64-bit simhash of a bag of words: near-identical texts differ in few bits."""
    if not terms:
        return 0
    signs = np.array([_word_signs(w) for w in terms])
    counts = np.fromiter(terms.values(), dtype=np.int64, count=len(terms))
    weights = counts @ signs
    return int(np.packbits(weights > 0, bitorder="little").view("<u8")[0])


_SIMHASH_CHUNK = 512
"""Posts per vectorised step of ``simhashes``."""
_SIMHASH_WIDE = 64
"""Posts with more distinct words than this are signed one by one: the padded float32 (posts x words x 64)
matrix stays under 9 MB."""
_SIGN_TABLE_LIMIT = 1 << 17
"""Distinct words whose sign rows ``simhashes`` keeps (8 MB of int8); past it the table starts again."""


class _SignTable:
    """Row numbers of words in one growing (words x 64) int8 matrix of their ``_word_signs``; row 0 is zeros."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.matrix = np.zeros((1024, 64), dtype=np.int8)

    def ensure(self, bags: Sequence[Counter[str]]) -> dict[str, int]:
        """The row numbers, with every word of ``bags`` in them."""
        unknown = list({w: None for terms in bags for w in terms if w not in self.rows})
        if not unknown:
            return self.rows
        if len(self.rows) + len(unknown) >= _SIGN_TABLE_LIMIT:
            self.rows = {}
            unknown = list({w: None for terms in bags for w in terms})
        first = len(self.rows) + 1
        need = first + len(unknown)
        if need > len(self.matrix):
            grown = np.zeros((max(need, 2 * len(self.matrix)), 64), dtype=np.int8)
            grown[:first] = self.matrix[:first]
            self.matrix = grown
        hashes = np.array([_word_hash(w) for w in unknown], dtype=np.uint64)
        self.matrix[first:need] = ((hashes[:, None] >> _BITS) & np.uint64(1)).astype(np.int8) * 2 - 1
        self.rows.update(zip(unknown, range(first, need), strict=True))
        return self.rows


_SIGNS = _SignTable()


def simhashes(bags: Sequence[Counter[str]]) -> list[int]:
    """``[simhash(t) for t in bags]``, a chunk of posts at a time in a few numpy operations.

    Grouping signs every post of a batch; per post, building the (words x 64) sign matrix from
    Python was most of the cost (one ``np.array`` of a list of arrays each time). Here the sign
    rows of the words seen stay in one matrix, a chunk's posts are padded to its longest (with a
    zero row and count 0) and weighed in one batched product: the same integer sums (exact in
    float32 below 2**24, far above any post's word count), so the same signatures.
    """
    out = [0] * len(bags)
    for start in range(0, len(bags), _SIMHASH_CHUNK):
        chunk: list[tuple[int, Counter[str]]] = []
        for i, terms in enumerate(bags[start : start + _SIMHASH_CHUNK], start):
            if len(terms) > _SIMHASH_WIDE:
                out[i] = simhash(terms)
            elif terms:
                chunk.append((i, terms))
        if not chunk:
            continue
        rows = _SIGNS.ensure([t for _, t in chunk])
        lengths = np.fromiter((len(t) for _, t in chunk), dtype=np.intp, count=len(chunk))
        total = int(lengths.sum())
        width = int(lengths.max())
        index = np.fromiter((rows[w] for _, t in chunk for w in t), dtype=np.intp, count=total)
        counts = np.fromiter((c for _, t in chunk for c in t.values()), dtype=np.float32, count=total)
        # Flat position of each word in the (posts x width) padding: its post's row, then its place in the post.
        starts = np.cumsum(lengths) - lengths
        slots = np.arange(total) + np.repeat(np.arange(len(chunk)) * width - starts, lengths)
        padded_index = np.zeros(len(chunk) * width, dtype=np.intp)
        padded_index[slots] = index
        padded_counts = np.zeros(len(chunk) * width, dtype=np.float32)
        padded_counts[slots] = counts
        signs = _SIGNS.matrix[padded_index.reshape(len(chunk), width)].astype(np.float32)
        weights = np.matmul(padded_counts.reshape(len(chunk), 1, width), signs)[:, 0, :]
        sigs = np.packbits(weights > 0, axis=1, bitorder="little").view("<u8")[:, 0].tolist()
        for (position, _), sig in zip(chunk, sigs, strict=True):
            out[position] = sig
    return out


def cosine(a: Counter[str] | dict[str, float], b: Counter[str] | dict[str, float]) -> float:
    """Cosine similarity of two term vectors."""
    return _cosine_normed(a, _norm(a), b, _norm(b))


def _norm(vector: Counter[str] | dict[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def _cosine_normed(
    a: Counter[str] | dict[str, float], norm_a: float, b: Counter[str] | dict[str, float], norm_b: float
) -> float:
    """``cosine(a, b)`` with both norms known (grouping caches an issue's norm for the batch)."""
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    return dot / (norm_a * norm_b) if norm_a and norm_b else 0.0


def _weight_of(item: tuple[str, float]) -> float:
    return item[1]


@dataclass(slots=True)
class _IssueState:
    """An issue's term weights and recent signatures while a batch is placed (written back once)."""

    weights: dict[str, float]
    sigs: list[int]
    facets: dict[str, dict[str, float]]
    """Topic, kecamatan and desa ("kecamatan|desa") → weight of the complaint posts naming them."""
    added: int = 0
    sig_array: np.ndarray | None = None
    norm: float | None = None
    anchors: frozenset[str] | None = None


@dataclass(frozen=True)
class Placement:
    issue_id: int | None
    """None when the post joined nothing (a government response to no known issue)."""
    created: bool
    spread: bool
    similarity: float
    regression: bool = False
    reason: str = ""
    """Why (``monitor.domain.incident.Decision.reason``): spread, same_incident, same_problem, response, ..."""
    response: bool = False


def rules_of(config: AppConfig) -> Rules:
    """The grouping decision's settings from config."""
    c = config.issues
    return Rules(
        min_similarity=c.min_similarity,
        match_window=timedelta(hours=c.match_window_hours),
        regression_window=timedelta(days=c.regression_window_days),
        incident_window=timedelta(hours=c.incident_window_hours),
        other_desa_window=timedelta(hours=c.other_desa_window_hours),
        unplaced_recent=timedelta(hours=c.unplaced_recent_hours),
        cross_topic_penalty=CROSS_TOPIC_PENALTY,
    )


class IssueGrouper:
    """Places classified complaint posts into issues, inside the caller's transaction."""

    MAX_SIGS = 200
    TERM_CAP = 60

    def __init__(self, config: AppConfig, *, deferred: bool = False) -> None:
        self.config = config
        self.deferred = deferred
        """Batch mode: memberships are kept in memory until ``write_pending`` (one bulk insert)."""
        self._pending: list[dict[str, Any]] = []
        self.window = timedelta(hours=config.issues.match_window_hours)
        self.rules = rules_of(config)
        self._skipped: list[int] = []
        """Posts that joined nothing and are not complaints of their own (responses to no known issue)."""
        self._pool: list[Issue] | None = None
        self._pool_floor: datetime | None = None
        self._placed: dict[int, Issue] = {}
        """post id → issue, for the posts placed by this grouper (not yet flushed)."""
        self._parents: dict[tuple[int, str], int] | None = None
        """(source id, external id) → post id of the parents of a prefetched batch."""
        self._origin_issue: dict[int, Issue] = {}
        """post id → open issue, for the originals (parents, earlier copies) of a prefetched batch."""
        self._work: dict[Issue, _IssueState] = {}
        """The term vectors, signatures and counts of issues touched since the last ``write_pending``."""

    def preload(self, session: Session, earliest: datetime, region: str | None = None) -> None:
        """Load once the issues posts from ``earliest`` on could join, instead of one query per post.

        ``region``: the batch is of that region only, and a post joins only its own region's issues.
        """
        floor = earliest - max(self.window, timedelta(days=self.config.issues.regression_window_days))
        query = select(Issue).where(Issue.status.in_(("open", "resolved")), Issue.last_seen >= floor)
        if region is not None:
            query = query.where(Issue.region_code == region)
        self._pool = list(session.scalars(query))
        self._pool_floor = floor

    def prefetch_origins(self, session: Session, posts: Sequence[PostFacts]) -> None:
        """Look up once which open issues hold the batch's parents and earlier copies.

        Without this, ``place`` asks the database for every reply and every copy: two queries per
        post, most of the grouping time when a story is shared widely.
        """
        wanted = {(p.source_id, p.parent_external_id) for p in posts if p.parent_external_id}
        parents: dict[tuple[int, str], int] = {}
        external = sorted({ext for _, ext in wanted})
        for start in range(0, len(external), 900):  # bounded IN lists
            for pid, sid, ext in session.execute(
                select(Post.id, Post.source_id, Post.external_id).where(
                    one_of(session, Post.external_id, external[start : start + 900])
                )
            ):
                if (sid, ext) in wanted:
                    parents[(sid, ext)] = pid
        origins = sorted({p.duplicate_of_id for p in posts if p.duplicate_of_id} | set(parents.values()))
        issue_of: dict[int, int] = {}
        with session.no_autoflush:
            # Plain (post, issue) id pairs, then each issue once: a widely copied story has thousands
            # of originals in a few issues, and loading an Issue entity per row cost more than the query.
            for start in range(0, len(origins), 900):
                issue_of.update(
                    (post_id, issue_id)
                    for post_id, issue_id in session.execute(
                        select(IssuePost.post_id, IssuePost.issue_id)
                        .join(Issue, IssuePost.issue_id == Issue.id)
                        .where(one_of(session, IssuePost.post_id, origins[start : start + 900]), Issue.status == "open")
                    )
                )
            wanted_issues = sorted(set(issue_of.values()))
            issues: dict[int, Issue] = {}
            for start in range(0, len(wanted_issues), 900):
                chunk = wanted_issues[start : start + 900]
                issues.update((i.id, i) for i in session.scalars(select(Issue).where(one_of(session, Issue.id, chunk))))
        found = {post_id: issues[issue_id] for post_id, issue_id in issue_of.items() if issue_id in issues}
        self._parents, self._origin_issue = parents, found

    def place(
        self,
        session: Session,
        post: PostFacts,
        label: LabelFacts,
        now: datetime,
        *,
        terms: Counter[str] | None = None,
        sig: int | None = None,
        norm: str | None = None,
    ) -> Placement:
        """Put one post into an issue (``monitor.domain.incident.decide`` chooses; this applies it).

        ``terms``, ``sig`` and ``norm``, when given, are the post's ``post_terms``, ``simhash`` and
        normalised lower-cased text computed beforehand (``group_new`` signs a whole batch at once).
        """
        text = post_text(post)
        if norm is None:
            norm = normalise(text).lower()
        if terms is None:
            terms = terms_of_normalised(norm)
        if sig is None:
            sig = simhash(terms)
        at = post.created_at
        region = post.region_code
        original = self._original_issue(session, post)
        if original is not None and original.region_code != region:
            original = None  # the same story in two regencies: an issue of each, never one of both
        view = PostView(
            topic=label.topic,
            kecamatan=label.kecamatan,
            desa=label.desa,
            at=at,
            anchors=event_anchors(terms),
            response=is_response_normalised(norm, raw=text),
            spread_issue=original.id if original is not None else None,
            desas=frozenset((label.desa,)) if label.desa else desa_named(norm, label.kecamatan),
            region_code=region,
        )
        issues: dict[int, Issue] = {}
        if original is not None:
            decision = decide(view, [], self.rules)
            issues[original.id] = original
        else:
            found = self._candidates(session, label, at, ("open",), self.window, norm, region)
            issues.update((i.id, i) for i in found)
            norm_terms = _norm(terms)  # the post's norm once, not once per candidate
            views = [self._view(i, terms, norm_terms, sig) for i in found]
            view = replace(view, named=self._named(norm, found))
            decision = decide(view, views, self.rules)
            if decision.action == "new" or decision.reason == "incident_place":
                # Only now the resolved issues: most posts join an open one.
                back = self._candidates(
                    session, label, at, ("resolved",), self.rules.regression_window, norm, region
                )
                if back:
                    issues.update((i.id, i) for i in back)
                    view = replace(view, named=view.named | self._named(norm, back))
                    more = (self._view(i, terms, norm_terms, sig) for i in back)
                    decision = decide(view, [*views, *more], self.rules)
        return self._apply(session, decision, issues, post, label, terms, sig, norm, now)

    def _apply(
        self,
        session: Session,
        decision: Decision,
        issues: dict[int, Issue],
        post: PostFacts,
        label: LabelFacts,
        terms: Counter[str],
        sig: int,
        norm: str,
        now: datetime,
    ) -> Placement:
        """Write what ``decide`` chose."""
        if decision.action == "skip":
            self._skipped.append(post.id)
            if not self.deferred:
                self.write_pending(session)
            return Placement(None, False, False, 0.0, reason=decision.reason, response=decision.response)
        if decision.action == "join":
            assert decision.issue_id is not None
            issue = issues[decision.issue_id]
            placement = self._join(
                session, issue, post, label, terms, sig, now, decision.similarity, decision.spread, decision.response
            )
            return replace(placement, reason=decision.reason)
        if decision.action == "reopen":
            assert decision.issue_id is not None
            back = issues[decision.issue_id]
            back.status, back.regression, back.resolved_at = "open", True, None
            back.stage = "baru"
            session.add(
                IssueEvent(issue_id=back.id, at=now, kind="regression", detail={"post_id": post.id}, actor="sistem")
            )
            record_reopened(session, back, now)
            self._join(session, back, post, label, terms, sig, now, decision.similarity, spread=False)
            return Placement(back.id, False, False, decision.similarity, regression=True, reason=decision.reason)
        issue = Issue(
            topic=label.topic,
            agency_code=self._routing(post.region_code).get(label.topic),
            kecamatan=label.kecamatan,
            desa=label.desa,
            title=make_title(
                label.topic,
                label.kecamatan,
                label.desa,
                terms,
                best_phrase([post_text(post)], terms, places=(label.kecamatan or "", label.desa or "")),
            ),
            status="open",
            stage="baru",
            first_seen=post.created_at,
            last_seen=post.created_at,
            created_at=now,
            updated_at=now,
            urgent=label.urgent,
            terms={},
            facets={},
            region_code=post.region_code,
        )
        session.add(issue)
        session.flush()
        if self._pool is not None:
            self._pool.append(issue)
        session.add(IssueEvent(issue_id=issue.id, at=now, kind="created", detail={"post_id": post.id}, actor="sistem"))
        placement = self._join(session, issue, post, label, terms, sig, now, 1.0, spread=False)
        return Placement(placement.issue_id, True, False, 1.0, reason=decision.reason)

    def _routing(self, region: str) -> Mapping[str, str]:
        """Topic → agency of a region: an issue goes to its own regency's agency."""
        return self.config.region_of(region).routing

    def _view(self, issue: Issue, terms: Counter[str], norm_terms: float, sig: int) -> CandidateView:
        """What ``decide`` reads of an issue for this post (``norm_terms``: the norm of its ``terms``): its
        similarity, near-duplicate flag and event words."""
        state = self._state(issue)
        if state.norm is None:
            state.norm = _norm(state.weights)
        if state.anchors is None:
            state.anchors = event_anchors(state.weights, ANCHOR_SHARE)
        return CandidateView(
            issue_id=issue.id,
            status=issue.status,
            topic=issue.topic,
            kecamatan=issue.kecamatan,
            desa=issue.desa,
            first_seen=issue.first_seen,
            last_seen=issue.last_seen,
            similarity=_cosine_normed(terms, norm_terms, state.weights, state.norm),
            near=self._near(issue, sig),
            anchors=state.anchors,
            size=issue.post_count + state.added,
            region_code=issue.region_code,
        )

    @staticmethod
    def _names_issue(norm: str, issue: Issue) -> bool:
        """Whether the text names the issue's desa (or, for an issue with no desa, its kecamatan)."""
        return names_place(norm, issue.desa) if issue.desa else names_place(norm, issue.kecamatan)

    def _named(self, norm: str, issues: Sequence[Issue]) -> frozenset[int]:
        return frozenset(i.id for i in issues if self._names_issue(norm, i))

    def write_pending(self, session: Session) -> int:
        """Store the memberships placed so far and mark their posts grouped; returns how many."""
        self._write_issues()
        skipped, self._skipped = self._skipped, []
        for start in range(0, len(skipped), 900):  # bounded IN lists
            # Not a complaint of its own and no issue to answer: out of the queue, like a non-complaint.
            session.execute(
                update(Post).where(one_of(session, Post.id, skipped[start : start + 900])).values(stage="filtered"),
                execution_options={"synchronize_session": False},
            )
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        bulk_insert(session, table_of(IssuePost), pending)
        ids = [m["post_id"] for m in pending]
        for start in range(0, len(ids), 900):  # bounded IN lists
            session.execute(
                update(Post).where(one_of(session, Post.id, ids[start : start + 900])).values(stage="grouped"),
                execution_options={"synchronize_session": False},
            )
        return len(pending)

    def _state(self, issue: Issue) -> _IssueState:
        state = self._work.get(issue)
        if state is None:
            terms = issue.terms or {}
            state = _IssueState(dict(terms.get("w", {})), list(terms.get("sigs", [])), _facets_of(issue))
            self._work[issue] = state
        return state

    def _write_issues(self) -> None:
        # Term vector, title and count once per touched issue: per post, the JSON copies, the title's
        # top-words sort and the ORM change tracking were most of the grouping time (bench/ingest.py).
        work, self._work = self._work, {}
        for issue, state in work.items():
            if not state.added:
                continue
            issue.terms = {"w": dict(state.weights), "sigs": list(state.sigs)}
            issue.facets = _stored_facets(state.facets, issue.topic, self._routing(issue.region_code))
            # The phrase is chosen when the issue is created and refreshed by the assessment from its most-seen
            # posts (``assess.assess_issues``); here only the place may have become known.
            title = make_title(issue.topic, issue.kecamatan, issue.desa, state.weights, words_of(issue.title))
            if title != issue.title:
                issue.title = title
            issue.post_count += state.added

    def _original_issue(self, session: Session, post: PostFacts) -> Issue | None:
        origin_ids: list[int] = []
        # The posts' own rows are already flushed; what is pending is only this batch's placements,
        # which self._placed knows, so the look-ups below need no flush (one flush per post was the cost).
        with session.no_autoflush:
            if post.duplicate_of_id:
                origin_ids.append(post.duplicate_of_id)
            if post.parent_external_id:
                if self._parents is not None:
                    parent = self._parents.get((post.source_id, post.parent_external_id))
                else:
                    parent = session.scalar(
                        select(Post.id).where(
                            Post.source_id == post.source_id, Post.external_id == post.parent_external_id
                        )
                    )
                if parent is not None:
                    origin_ids.append(parent)
            if not origin_ids:
                return None
            for origin in origin_ids:
                placed = self._placed.get(origin)
                if placed is not None and placed.status == "open":
                    return placed
            if self._parents is not None:
                for origin in origin_ids:
                    known = self._origin_issue.get(origin)
                    if known is not None and known.status == "open":
                        return known
                return None
            return session.scalar(
                select(Issue)
                .join(IssuePost, IssuePost.issue_id == Issue.id)
                .where(IssuePost.post_id.in_(origin_ids), Issue.status == "open")
                .limit(1)
            )

    def _near(self, issue: Issue, sig: int) -> bool:
        """Whether ``sig`` is within SIMHASH_NEAR bits of one of the issue's recent post signatures."""
        state = self._state(issue)
        if not state.sigs:
            return False
        if state.sig_array is None:  # _join drops it when the signatures change
            state.sig_array = np.array(state.sigs, dtype=np.uint64)
        return bool((np.bitwise_count(state.sig_array ^ np.uint64(sig)) <= SIMHASH_NEAR).any())

    def _candidates(
        self,
        session: Session,
        label: LabelFacts,
        at: datetime,
        statuses: Sequence[str],
        window: timedelta,
        norm: str = "",
        region: str = DEFAULT_REGION,
    ) -> list[Issue]:
        """Issues of the post's region a post might join, active in the window: in its kecamatan (any topic),
        or of its topic with no kecamatan; for a post with no kecamatan, of its topic or at a place its text
        names."""
        # Readers disagree on the topic of one problem ("truck stuck on the broken road": roads or
        # transport?) and one event has many facets, so in the same kecamatan any topic may match;
        # ``decide`` weighs topic, place and words.
        since = at - window
        if self._pool is not None and self._pool_floor is not None and since >= self._pool_floor:
            # ``since`` computed once: the scan runs over the whole pool for every post that looks for issues.
            pool = [i for i in self._pool if i.status in statuses and i.last_seen >= since and i.region_code == region]
        else:
            query = select(Issue).where(
                Issue.status.in_(statuses), Issue.last_seen >= since, Issue.region_code == region
            )
            if label.kecamatan:
                query = query.where(
                    ((Issue.topic == label.topic) & ((Issue.kecamatan == label.kecamatan) | Issue.kecamatan.is_(None)))
                    | (Issue.kecamatan == label.kecamatan)
                )
            elif not norm:
                query = query.where(Issue.topic == label.topic)
            pool = list(session.scalars(query))
        if label.kecamatan:
            return [
                i for i in pool if i.kecamatan == label.kecamatan or (i.topic == label.topic and i.kecamatan is None)
            ]
        return [i for i in pool if i.topic == label.topic or (norm and i.kecamatan and self._names_issue(norm, i))]

    def _join(
        self,
        session: Session,
        issue: Issue,
        post: PostFacts,
        label: LabelFacts,
        terms: Counter[str],
        sig: int,
        now: datetime,
        similarity: float,
        spread: bool,
        response: bool = False,
    ) -> Placement:
        state = self._state(issue)
        # A response (the government answering) is part of the issue but not a complaint: its words,
        # place, topic and urgency ("jembatan darurat") do not change what the issue is, and it is
        # not growth (``assess.assess_issues`` leaves it out).
        if not response:
            self._add_complaint(session, issue, state, label, terms, sig, now, 0.5 if spread else 1.0)
            # Assign only what changes: every ORM attribute write costs change-tracking work.
            if post.created_at < issue.first_seen:
                issue.first_seen = post.created_at
            if post.created_at > issue.last_seen:
                issue.last_seen = post.created_at
            if label.urgent and not issue.urgent:
                issue.urgent = True
        if issue.updated_at != now:
            issue.updated_at = now
        self._placed[post.id] = issue
        member = {
            "post_id": post.id,
            "issue_id": issue.id,
            "similarity": round(similarity, 4),
            "is_spread": spread,
            "is_response": response,
            "added_at": now,
            "post_created_at": post.created_at,
        }
        self._pending.append(member)
        if not self.deferred:
            self.write_pending(session)
        return Placement(issue.id, False, spread, similarity, response=response)

    def _add_complaint(
        self,
        session: Session,
        issue: Issue,
        state: _IssueState,
        label: LabelFacts,
        terms: Counter[str],
        sig: int,
        now: datetime,
        weight: float,
    ) -> None:
        """Fold a complaint post into the issue: words, signature, topic and place; re-decide topic and place."""
        # Same operations and dict order as a fresh copy per post would give: cosine sums and the
        # title's ties depend on the order, so grouping stays identical.
        weights = state.weights
        for word, count in terms.items():
            weights[word] = weights.get(word, 0.0) + count
        if len(weights) > self.TERM_CAP:
            # What heapq.nlargest(TERM_CAP, ..., key=weight) returns (documented as this stable sort), without
            # its heap: just over TERM_CAP items, the sort is several times cheaper.
            weights = state.weights = dict(sorted(weights.items(), key=_weight_of, reverse=True)[: self.TERM_CAP])
        state.sigs.append(sig)
        if len(state.sigs) > self.MAX_SIGS:
            del state.sigs[: -self.MAX_SIGS]
        state.sig_array = state.norm = state.anchors = None
        state.added += 1
        facets = state.facets
        topics = facets["topics"]
        topics[label.topic] = topics.get(label.topic, 0.0) + weight
        if label.kecamatan:
            kec = facets["kecamatan"]
            kec[label.kecamatan] = kec.get(label.kecamatan, 0.0) + weight
            if label.desa:
                desa = facets["desa"]
                key = f"{label.kecamatan}|{label.desa}"
                desa[key] = desa.get(key, 0.0) + weight
        primary = primary_topic(topics, issue.topic)
        if primary != issue.topic:
            session.add(
                IssueEvent(
                    issue_id=issue.id,
                    at=now,
                    kind="primary",
                    detail={"from": issue.topic, "to": primary, "topics": dict(topics)},
                    actor="sistem",
                )
            )
            # An issue a person handed to another agency (salah dinas) stays with that agency.
            routing = self._routing(issue.region_code)
            moved = issue.agency_code is not None and issue.agency_code != routing.get(issue.topic)
            issue.topic = primary
            if not moved:
                issue.agency_code = routing.get(primary)
        kecamatan, desa_name = majority_place(facets["kecamatan"], facets["desa"], (issue.kecamatan, issue.desa))
        if kecamatan != issue.kecamatan:
            issue.kecamatan = kecamatan
        if desa_name != issue.desa:
            issue.desa = desa_name


def _facets_of(issue: Issue) -> dict[str, dict[str, float]]:
    """The issue's stored facet weights, or, for an issue grouped before they were kept, its own topic and place."""
    stored = issue.facets or {}
    if stored.get("topics"):
        return {key: dict(stored.get(key) or {}) for key in ("topics", "kecamatan", "desa")}
    n = float(issue.post_count or 0)
    if not n:
        return {"topics": {}, "kecamatan": {}, "desa": {}}
    return {
        "topics": {issue.topic: n},
        "kecamatan": {issue.kecamatan: n} if issue.kecamatan else {},
        "desa": {f"{issue.kecamatan}|{issue.desa}": n} if issue.kecamatan and issue.desa else {},
    }


def _stored_facets(facets: dict[str, dict[str, float]], primary: str, routing: Mapping[str, str]) -> dict[str, Any]:
    """The ``Issue.facets`` value: the weights, and the secondary (topic, agency) facets they give."""
    return {
        **{key: dict(value) for key, value in facets.items()},
        "secondary": [{"topic": t, "agency": a} for t, a in secondary_topics(facets["topics"], primary, routing)],
    }


def close_quiet(session: Session, config: AppConfig, now: datetime, region: str | None = None) -> int:
    """Close open issues (``region``: of that region) with no new post for the quiet period."""
    cutoff = now - timedelta(hours=config.issues.close_after_hours)
    query = select(Issue).where(Issue.status == "open", Issue.last_seen < cutoff)
    if region is not None:
        query = query.where(Issue.region_code == region)
    quiet = list(session.scalars(query))
    for issue in quiet:
        issue.status, issue.closed_at, issue.updated_at = "closed", now, now
        issue.stage = "mereda"
        session.add(IssueEvent(issue_id=issue.id, at=now, kind="closed_quiet", detail={}, actor="sistem"))
    return len(quiet)


def merge_issues(session: Session, target_id: int, other_ids: Iterable[int], actor: str, now: datetime) -> Issue:
    """Fold other issues into ``target_id``; their posts move, they stay as 'merged' pointers."""
    target = _get(session, target_id)
    for other_id in other_ids:
        if other_id == target_id:
            continue
        other = _get(session, other_id)
        if other.region_code != target.region_code:
            raise ValueError(
                f"isu #{other.id} dan isu #{target.id} dari wilayah berbeda: isu hanya memuat unggahan satu wilayah"
            )
        session.execute(update(IssuePost).where(IssuePost.issue_id == other.id).values(issue_id=target.id))
        weights = dict(target.terms.get("w", {}))
        for word, w in other.terms.get("w", {}).items():
            weights[word] = weights.get(word, 0.0) + w
        target.terms = {"w": weights, "sigs": [*target.terms.get("sigs", []), *other.terms.get("sigs", [])]}
        facets = _facets_of(target)
        for key, votes in _facets_of(other).items():
            for name, w in votes.items():
                facets[key][name] = facets[key].get(name, 0.0) + w
        # The secondary list is refreshed when posts next join; alerts read the weights themselves.
        target.facets = {**(target.facets or {}), **facets}
        target.first_seen = min(target.first_seen, other.first_seen)
        target.last_seen = max(target.last_seen, other.last_seen)
        target.urgent = target.urgent or other.urgent
        other.status, other.merged_into_id, other.updated_at = "merged", target.id, now
        session.add(IssueEvent(issue_id=target.id, at=now, kind="merged", detail={"from": other.id}, actor=actor))
        session.add(IssueEvent(issue_id=other.id, at=now, kind="merged_into", detail={"into": target.id}, actor=actor))
    _recount(session, target)
    target.updated_at = now
    return target


def split_issue(session: Session, issue_id: int, post_ids: Sequence[int], actor: str, now: datetime) -> Issue:
    """Move some posts of an issue into a new issue (they were a different problem)."""
    source = _get(session, issue_id)
    members = set(session.scalars(select(IssuePost.post_id).where(IssuePost.issue_id == issue_id)))
    moving = [p for p in post_ids if p in members]
    if not moving or len(moving) == len(members):
        raise ValueError("pilih sebagian (bukan semua) unggahan isu ini untuk dipisahkan")
    posts = list(session.scalars(select(Post).where(Post.id.in_(moving))))
    terms: Counter[str] = Counter()
    texts = [post_text(p) for p in posts]
    bags = [terms_of(text) for text in texts]
    for bag in bags:
        terms.update(bag)
    new = Issue(
        topic=source.topic,
        agency_code=source.agency_code,
        kecamatan=source.kecamatan,
        desa=source.desa,
        title=make_title(
            source.topic,
            source.kecamatan,
            source.desa,
            terms,
            best_phrase(texts, terms, places=(source.kecamatan or "", source.desa or "")),
        ),
        status="open",
        stage="baru",
        first_seen=min(p.created_at for p in posts),
        last_seen=max(p.created_at for p in posts),
        created_at=now,
        updated_at=now,
        urgent=source.urgent,
        terms={"w": dict(terms), "sigs": simhashes(bags)},
        region_code=source.region_code,
    )
    session.add(new)
    session.flush()
    session.execute(update(IssuePost).where(IssuePost.post_id.in_(moving)).values(issue_id=new.id))
    session.add(
        IssueEvent(issue_id=source.id, at=now, kind="split", detail={"to": new.id, "posts": moving}, actor=actor)
    )
    session.add(IssueEvent(issue_id=new.id, at=now, kind="split_from", detail={"from": source.id}, actor=actor))
    _recount(session, source)
    _recount(session, new)
    return new


def _recount(session: Session, issue: Issue) -> None:
    session.flush()
    count, first, last = session.execute(
        select(func.count(), func.min(Post.created_at), func.max(Post.created_at))
        .select_from(IssuePost)
        .join(Post, Post.id == IssuePost.post_id)
        .where(IssuePost.issue_id == issue.id)
    ).one()
    issue.post_count = int(count)
    if first is not None:
        issue.first_seen, issue.last_seen = first, last


def _get(session: Session, issue_id: int) -> Issue:
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise LookupError(f"isu #{issue_id} tidak ditemukan")
    return issue


def group_new(
    session: Session, config: AppConfig, now: datetime, limit: int = 2000, region: str | None = None
) -> tuple[int, int, int, set[int]]:
    """Place classified complaint posts (``region``: of that region) into issues; returns (grouped, new issues,
    regressions, touched ids)."""
    grouper = IssueGrouper(config, deferred=True)
    # Plain rows, not ORM objects: grouping reads a few columns of every complaint post.
    query = (
        select(
            Post.id,
            Post.source_id,
            Post.title,
            Post.text,
            Post.created_at,
            Post.duplicate_of_id,
            Post.parent_external_id,
            Post.region_code,
            Label.topic,
            Label.kecamatan,
            Label.desa,
            Label.urgent,
        )
        .join(Label, Label.post_id == Post.id)
        .where(Post.stage == "classified")
        .order_by(Post.created_at, Post.id)
        .limit(limit)
    )
    if region is not None:
        query = query.where(Post.region_code == region)
    rows = session.execute(query).all()
    grouped = created = regressions = 0
    touched: set[int] = set()
    seen_posts: set[int] = set()
    unique = []
    for row in rows:
        if row.id not in seen_posts:  # several model versions: the first row wins
            seen_posts.add(row.id)
            unique.append(row)
    if unique:
        grouper.preload(session, min(row.created_at for row in unique), region)
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

