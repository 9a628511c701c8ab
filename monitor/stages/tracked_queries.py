"""Tracked queries: while an issue rises, its place and key words are searched too.

The default queries (``collectors.queries``) name the regency, its kecamatan and the desa names
that are OKI's alone. An incident is often told with a desa name that is not ("Bangsal" is also
a hospital ward) and without the kecamatan; once its issue is ``naik`` or ``viral`` we know
which place and which words to look for, so the searchable platforms (X, Google News, Reddit,
Bluesky) get one more query for it: the place AND any of its key words
(``(Bangsal OR Pampangan) (jembatan OR gantung OR putus)``), within ``tracked_queries:`` of
config.yaml (at most ``max_per_platform`` per platform, each for at most ``expiry_hours`` after
the issue began to rise). The query goes when the issue cools (``mereda``), closes or resolves.

:func:`decide` is pure (facts in, decisions with reasons out). :func:`load_issue_facts` and
:func:`tracked_for` are the I/O: the collect job asks for its platform's active queries before
each run (``MonitorService.collect``), so nothing is stored and nothing can go stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from classifiers.labels import Labels
from collectors.queries import SEARCHABLE, tracked_query

RISING = frozenset({"naik", "viral"})

# Why an issue is or is not tracked on a platform (``TrackedQuery.reason``).
VIRAL = "viral"
"""Tracked: the issue is viral (tracked first when the budget is short)."""
RISING_REASON = "naik"
"""Tracked: the issue is rising."""
COOLED = "mereda"
"""Not tracked: the issue is no longer rising (cooled, or back to ``baru``)."""
CLOSED = "ditutup"
"""Not tracked: the issue is closed, resolved or merged."""
EXPIRED = "kedaluwarsa"
"""Not tracked: it has been rising longer than ``expiry_hours`` (the incident's posts were fetched)."""
NO_PLACE = "tanpa_tempat"
"""Not tracked: the issue has no desa or kecamatan to search for."""
NO_WORDS = "tanpa_kata"
"""Not tracked: the issue has no key words (a bare place name would fetch everything there)."""
OVER_BUDGET = "anggaran_penuh"
"""Not tracked: more rising issues than ``max_per_platform``; stronger ones took the places."""
UNSUPPORTED = "tidak_didukung"
"""Not tracked: the query cannot be written for this platform within its limits."""

MIN_WORD = 4
"""Shorter words say too little to search for ("air" is in "air mati" and in every river)."""


@dataclass(frozen=True, slots=True)
class IssueFacts:
    """What the decision reads of an issue."""

    id: int
    stage: str
    status: str
    kecamatan: str | None
    desa: str | None
    terms: Mapping[str, float]
    """The issue's word weights (``issues.terms``; places and stop words already left out)."""
    score: float
    rising_since: datetime | None
    """When it last turned ``naik``/``viral`` (None if it never did)."""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Budget:
    """``tracked_queries:`` of config.yaml as the decision reads it."""

    max_per_platform: int = 2
    expiry: timedelta = timedelta(hours=48)
    platforms: tuple[str, ...] = SEARCHABLE
    max_words: int = 3


@dataclass(frozen=True, slots=True)
class TrackedQuery:
    """The decision for one issue on one platform."""

    issue_id: int
    platform: str
    active: bool
    reason: str
    query: str | None = None
    places: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    expires_at: datetime | None = None
    kecamatan: str | None = None
    desa: str | None = None

    def incident(self) -> dict[str, object]:
        """What a post fetched by this query carries (``extra["incident"]``): which issue, which place."""
        return {"issue_id": self.issue_id, "kecamatan": self.kecamatan, "desa": self.desa}


def key_words(terms: Mapping[str, float], places: Sequence[str], limit: int) -> tuple[str, ...]:
    """The issue's strongest words (weight, then alphabet), without its place names and short words."""
    place_words = {w for p in places for w in p.lower().split()}
    ranked = sorted(
        ((w, float(v)) for w, v in terms.items() if isinstance(v, int | float)),
        key=lambda wv: (-wv[1], wv[0]),
    )
    out = [w for w, weight in ranked if weight > 0 and len(w) >= MIN_WORD and w.isalpha() and w not in place_words]
    return tuple(out[:limit])


def _places(issue: IssueFacts) -> tuple[str, ...]:
    return tuple(p for p in dict.fromkeys((issue.desa, issue.kecamatan)) if p)


def decide(issues: Iterable[IssueFacts], now: datetime, budget: Budget) -> list[TrackedQuery]:
    """Which issues get a tracked query on which platform, each decision with its reason (pure).

    Deterministic: issues are ranked viral first, then by score, then by id, and each platform
    gives its ``max_per_platform`` places in that order.
    """
    ranked = sorted(issues, key=lambda i: (i.stage != "viral", -i.score, i.id))
    used = dict.fromkeys(budget.platforms, 0)
    out: list[TrackedQuery] = []
    for issue in ranked:
        places = _places(issue)
        words = key_words(issue.terms, places, budget.max_words)
        expires = issue.rising_since + budget.expiry if issue.rising_since is not None else None
        for platform in budget.platforms:
            query = tracked_query(platform, places, words) if places and words else None
            if issue.status != "open":
                reason = CLOSED
            elif issue.stage not in RISING:
                reason = COOLED
            elif expires is not None and now >= expires:
                reason = EXPIRED
            elif not places:
                reason = NO_PLACE
            elif not words:
                reason = NO_WORDS
            elif query is None:
                reason = UNSUPPORTED
            elif used[platform] >= budget.max_per_platform:
                reason = OVER_BUDGET
            else:
                used[platform] += 1
                reason = VIRAL if issue.stage == "viral" else RISING_REASON
                out.append(
                    TrackedQuery(
                        issue.id, platform, True, reason, query, places, words, expires, issue.kecamatan, issue.desa
                    )
                )
                continue
            place = (issue.kecamatan, issue.desa)
            out.append(TrackedQuery(issue.id, platform, False, reason, None, places, words, expires, *place))
    return out


def active_queries(decisions: Iterable[TrackedQuery], platform: str) -> list[str]:
    """The queries a platform's sources add this run, in decision order."""
    return [d.query for d in decisions if d.active and d.platform == platform and d.query]


# --- I/O ------------------------------------------------------------------------------------------


def load_issue_facts(session: Session, now: datetime, lookback: timedelta) -> list[IssueFacts]:
    """Issues rising now, and those that rose within ``lookback`` (to say why they stopped)."""
    from monitor.store.models import Issue, IssueEvent

    since = now - lookback
    rows = session.execute(
        select(IssueEvent.issue_id, IssueEvent.at, IssueEvent.detail)
        # A rise that began before the lookback has expired anyway: older events are not read.
        .where(IssueEvent.kind == "stage", IssueEvent.at >= since, IssueEvent.at <= now)
        .order_by(IssueEvent.issue_id, IssueEvent.at, IssueEvent.id)
    ).all()
    rising_since: dict[int, datetime] = {}
    for issue_id, at, detail in rows:
        detail = detail if isinstance(detail, dict) else {}
        if detail.get("to") in RISING and detail.get("from") not in RISING:
            rising_since[issue_id] = at  # the start of the latest rise
    recent = [i for i, at in rising_since.items() if at >= since]
    rising_now = Issue.stage.in_(sorted(RISING)) & (Issue.status == "open")
    query = select(Issue).where(or_(rising_now, Issue.id.in_(recent)) if recent else rising_now)
    out = []
    for issue in session.scalars(query.order_by(Issue.id)):
        start = rising_since.get(issue.id)
        if start is None and issue.stage in RISING:
            start = issue.first_seen  # its rise began before the lookback (so it has expired), or was not recorded
        out.append(
            IssueFacts(
                id=issue.id,
                stage=issue.stage,
                status=issue.status,
                kecamatan=issue.kecamatan,
                desa=issue.desa,
                terms=_word_weights(issue.terms),
                score=float(issue.score or 0.0),
                rising_since=start,
                title=issue.title,
            )
        )
    return out


def _word_weights(terms: object) -> dict[str, float]:
    """The word weights of ``issues.terms`` (``{"w": {word: weight}, "sigs": ..., "t": ...}``)."""
    if not isinstance(terms, dict):
        return {}
    words = terms.get("w", terms)
    if not isinstance(words, dict):
        return {}
    return {str(w): float(v) for w, v in words.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def budget_of(config: object) -> Budget | None:
    """The decision's budget from an :class:`monitor.kernel.config.AppConfig` (None when tracking is off)."""
    cfg = getattr(config, "tracked_queries", None)
    if cfg is None or not cfg.enabled:
        return None
    return Budget(
        max_per_platform=cfg.max_per_platform,
        expiry=timedelta(hours=cfg.expiry_hours),
        platforms=tuple(cfg.platforms),
        max_words=cfg.max_words,
    )


def decisions_now(session: Session, config: object, now: datetime) -> list[TrackedQuery]:
    """Every tracked-query decision at ``now`` (empty when ``tracked_queries.enabled`` is false)."""
    budget = budget_of(config)
    if budget is None:
        return []
    return decide(load_issue_facts(session, now, budget.expiry), now, budget)


def tracked_for(session: Session, config: object, now: datetime, platform: str) -> list[TrackedQuery]:
    """The active tracked queries a source of ``platform`` adds to this run."""
    budget = budget_of(config)
    if budget is None or platform not in budget.platforms:
        return []
    return [d for d in decisions_now(session, config, now) if d.active and d.platform == platform and d.query]


def place_from_incident(labels: Labels, text: str, incident: Mapping[str, object]) -> Labels:
    """Labels of a post fetched by a rising incident's query, with the incident's place when the text names it.

    The tracked query asked for the incident's place AND its words without the look-alikes, so a
    post that names the desa ("jembatan gantung di Bangsal putus") is about that desa even when
    the name alone is too common to count as OKI evidence ("Bangsal" needs "desa" before it).
    Not when the text points elsewhere (a neighbour's or a namesake's region, an OIC-like
    confuser): then the classifier's labels stand. Pure.
    """
    from dataclasses import replace

    from classifiers.gazetteer import find_places
    from classifiers.normalise import normalise

    if labels.relevant and labels.kecamatan:
        return labels
    kecamatan = incident.get("kecamatan")
    desa = incident.get("desa")
    if not isinstance(kecamatan, str) or not kecamatan:
        return labels
    words = f" {normalise(text)} "
    names_desa = isinstance(desa, str) and bool(desa) and f" {normalise(desa)} " in words
    names_kecamatan = f" {normalise(kecamatan)} " in words
    if not (names_desa or names_kecamatan):
        return labels
    evidence = find_places(text)
    if evidence.neighbour or evidence.confuser:
        return labels
    return replace(
        labels,
        relevant=True,
        kecamatan=kecamatan,
        desa=desa if names_desa and isinstance(desa, str) else labels.desa,
    )


__all__ = [
    "Budget",
    "IssueFacts",
    "TrackedQuery",
    "active_queries",
    "decide",
    "decisions_now",
    "key_words",
    "load_issue_facts",
    "place_from_incident",
    "tracked_for",
]
