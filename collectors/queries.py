"""Default search queries for every platform, built from OKI's gazetteer (pure, deterministic).

A source with no explicit ``queries`` / ``query`` / ``hashtags`` / ``keywords`` in config.yaml
searches with :func:`default_queries` for its platform. The terms come from the classifiers'
gazetteer (:mod:`classifiers.gazetteer`), strongest first:

1. names only the regency has ("Ogan Komering Ilir", "Pemkab OKI", "Bupati OKI", "Bende Seguguk");
2. all 18 kecamatan, bare when the name is OKI's by the gazetteer's place-weight rule
   ("Pampangan", "Cengal"), with "OKI" when it is not ("Mesuji OKI": Mesuji is also a regency
   of Lampung);
3. official bodies and landmarks ("Polres OKI", "PDAM Tirta Agung") and, on X, mentions of the
   official accounts (``@pemkaboki``; the handles are unverified guesses, see
   ``classifiers.normalise.OFFICIAL_HANDLES``);
4. (X only, see :data:`SYNTAX`) every desa name that is OKI's alone (``place`` strength, no cue
   needed: "Sungai Sodong", "Pulau Gemantung"), except those a kept term already matches
   ("Pedamaran II" is found by "Pedamaran").

Each platform's rules (:class:`Syntax`) say how terms combine (``OR``, ``|``, one term per query
because search is AND-only, hashtags), how look-alikes are excluded (``-KTT``, ``NOT KTT``) and
how long a query may be (X recent search: 512 characters; Google News: 32 words, Google's
limit; Reddit: 512 characters). Terms are packed greedily in order into as few queries as the
limits allow, so the output only changes when the gazetteer or these rules change.

:func:`tracked_query` builds the query that follows one rising incident (its desa and kecamatan
and its key words) on one platform; ``monitor.stages.tracked_queries`` decides which incidents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

_S = TypeVar("_S", bound=BaseModel)

PLATFORMS: tuple[str, ...] = (
    "x",
    "googlenews",
    "reddit",
    "bluesky",
    "mastodon",
    "youtube",
    "tiktok",
    "instagram",
)
"""Platforms that search by words or hashtags (RSS, Telegram channels and Facebook pages do not)."""

SEARCHABLE: tuple[str, ...] = ("x", "googlenews", "reddit", "bluesky")
"""Platforms where a tracked incident query can be added cheaply (a search per run, no weekly cap)."""


@dataclass(frozen=True, slots=True)
class Syntax:
    """What a platform's search accepts."""

    platform: str
    max_chars: int
    """Longest query the platform takes (characters)."""
    max_queries: int
    """Most queries (or hashtags, keywords) one source runs."""
    joiner: str | None
    """How alternatives combine (" OR ", "|"); ``None``: one term per query (AND-only search)."""
    negation: str | None
    """Prefix that excludes a term ("-", "NOT "); ``None``: the platform cannot exclude."""
    max_words: int | None = None
    """Most words a query may have (Google ignores words after the 32nd)."""
    group: bool = False
    """Parenthesise the alternatives (needed when exclusions follow: X, Reddit)."""
    suffix: tuple[str, ...] = ()
    """Operators every query ends with (X: ``-is:retweet``)."""
    hashtags: bool = False
    """Queries are hashtags (letters and digits only, no '#')."""
    lower: bool = False
    include_desa: bool = False
    """Add the strong desa names (only where one query per run covers many: X)."""
    mentions: bool = False
    """Official handles can be searched as ``@handle``."""


SYNTAX: dict[str, Syntax] = {
    # docs.x.com recent search: 512 characters on non-Enterprise access; OR, quotes, -negation,
    # parentheses; implicit AND binds tighter than OR, so the alternatives are grouped.
    "x": Syntax("x", 512, 20, " OR ", "-", group=True, suffix=("-is:retweet",), include_desa=True, mentions=True),
    # Google News RSS search: quotes, OR, -exclude; Google reads at most 32 words of a query.
    "googlenews": Syntax("googlenews", 500, 12, " OR ", "-", max_words=32),
    # Reddit search: Lucene-like (OR, NOT, parentheses, quotes); queries up to 512 characters.
    "reddit": Syntax("reddit", 512, 20, " OR ", "NOT ", group=True),
    # Bluesky searchPosts: every word must match (no OR, atproto#3751); quotes and -exclusion work.
    "bluesky": Syntax("bluesky", 300, 20, None, "-"),
    # Mastodon without a search token reads hashtag timelines: one tag per stream.
    "mastodon": Syntax("mastodon", 100, 30, None, None, hashtags=True),
    # YouTube search.list q: '|' is OR, '-' excludes; one search per hour costs 100 units, so one query.
    "youtube": Syntax("youtube", 500, 1, "|", "-"),
    # TikTok Research API: one keyword per EQ condition; the source ORs them.
    "tiktok": Syntax("tiktok", 100, 20, None, None, lower=True),
    # Instagram: at most 30 unique hashtags per account per rolling 7 days.
    "instagram": Syntax("instagram", 100, 30, None, None, hashtags=True),
}

REGENCY_TERMS: tuple[str, ...] = (
    "Ogan Komering Ilir",
    "Kabupaten OKI",
    "Kab OKI",
    "Pemkab OKI",
    "Bupati OKI",
    "Bende Seguguk",
)
"""Names only the regency has (gazetteer STRONG_OKI), strongest first."""

OFFICIAL_BODIES: tuple[str, ...] = (
    "Diskominfo OKI",
    "Polres OKI",
    "Disdukcapil OKI",
    "Dinkes OKI",
    "PUPR OKI",
    "BPBD OKI",
    "PDAM Tirta Agung",
    "RSUD Kayuagung",
    "Tol Kapal Betung",
)
"""Official bodies and landmarks people name when they complain (gazetteer STRONG_OKI, LANDMARKS)."""

SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "Kayu Agung": ("Kayuagung",),
    "Sirah Pulau Padang": ("SP Padang",),
}
"""Spellings searched besides the official kecamatan name (gazetteer KECAMATAN_ALIASES)."""

QUALIFIER = "OKI"
"""Added to a kecamatan name shared with a bigger place elsewhere ("Mesuji OKI")."""

EXCLUDE: tuple[str, ...] = (
    "KTT",
    "Setiana",
    "Ogan Ilir",
    "Indralaya",
    "Tanjung Raja",
    "OKU",
    "Baturaja",
    "Mesuji Lampung",
    "Tulang Bawang",
)
"""Look-alikes excluded where the platform can (research oki-gazetteer §3): the OIC summit ("KTT
OKI"), Oki Setiana Dewi, Ogan Ilir and its towns, OKU, Lampung's Mesuji regency."""

_SAFE_WORD = re.compile(r"^[A-Za-z0-9@._]+$")
_TAG = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True, slots=True)
class Term:
    """One searchable name and what it names."""

    text: str
    kind: str
    """'regency', 'official', 'account', 'kecamatan' or 'desa'."""
    kecamatan: str | None = None
    desa: str | None = None


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[^a-z0-9]+", text.lower()) if w)


@lru_cache(maxsize=1)
def gazetteer_terms() -> tuple[Term, ...]:
    """Every default term in priority order (regency, kecamatan, bodies, accounts, strong desa)."""
    from classifiers.gazetteer import KECAMATAN, get_gazetteer
    from classifiers.normalise import OFFICIAL_HANDLES, normalise

    gaz = get_gazetteer()
    terms: list[Term] = [Term(t, "regency") for t in REGENCY_TERMS]
    for kec in KECAMATAN:
        entries = [e for e in gaz.index.get(tuple(normalise(kec).split()), []) if e.kind == "kecamatan"]
        shared = not entries or entries[0].strength not in ("strong", "place")
        for spelling in (*SHORT_FORMS.get(kec, ()), kec):
            terms.append(Term(f"{spelling} {QUALIFIER}" if shared else spelling, "kecamatan", kecamatan=kec))
    terms += [Term(t, "official") for t in OFFICIAL_BODIES]
    # The handles are unverified guesses (classifiers.normalise); a wrong one only matches nothing.
    terms += [Term("@" + h, "account") for h in sorted(OFFICIAL_HANDLES)]
    seen: set[str] = set()
    for key, entries in sorted(gaz.index.items()):
        for e in entries:
            if e.kind != "desa" or e.desa is None or e.desa in seen:
                continue
            # Only the desa's own spelling, and only when the name is OKI's alone without a cue.
            if key != tuple(normalise(e.desa).split()) or e.strength != "place" or e.needs_cue:
                continue
            seen.add(e.desa)
            terms.append(Term(e.desa, "desa", kecamatan=e.kecamatan, desa=e.desa))
    kec_order = {k: i for i, k in enumerate(KECAMATAN)}
    head = [t for t in terms if t.kind != "desa"]
    desa = sorted((t for t in terms if t.kind == "desa"), key=lambda t: (kec_order.get(t.kecamatan or "", 99), t.text))
    return tuple(head) + tuple(_drop_covered(desa, head))


def _drop_covered(desa: Sequence[Term], kept: Sequence[Term]) -> list[Term]:
    """Desa whose name begins with a kept name ("Pedamaran II" after "Pedamaran") are found by it."""
    prefixes = [_words(t.text) for t in kept if t.kind == "kecamatan"]
    out: list[Term] = []
    for term in desa:
        words = _words(term.text)
        if any(words[: len(p)] == p for p in prefixes):
            continue
        prefixes.append(words)
        out.append(term)
    return out


def quote(term: str, syntax: Syntax) -> str:
    """A term as the platform reads it: phrases and names with punctuation in double quotes."""
    term = term.replace('"', "").strip()
    if syntax.lower:
        term = term.lower()
    if term.startswith("@") or _SAFE_WORD.match(term) or (syntax.joiner is None and syntax.negation is None):
        return term  # a plain keyword list (TikTok) has no query language to quote for
    return f'"{term}"'


def hashtag(term: str) -> str:
    """A term as a hashtag word: letters and digits only ("Tulung Selapan" -> "tulungselapan")."""
    return _TAG.sub("", term.lower())


def _negatives(syntax: Syntax, exclude: Sequence[str]) -> list[str]:
    if syntax.negation is None:
        return []
    return [f"{syntax.negation}{quote(t, syntax)}" for t in exclude if t.strip()]


def _assemble(body: Sequence[str], syntax: Syntax, tail: Sequence[str]) -> str:
    assert syntax.joiner is not None
    joined = syntax.joiner.join(body)
    if syntax.group and len(body) > 1:
        joined = f"({joined})"
    return " ".join([joined, *tail]).strip()


def _word_count(query: str) -> int:
    return len(query.split())


def fits(query: str, syntax: Syntax) -> bool:
    """Whether a query is within the platform's length (and word) limits."""
    if len(query) > syntax.max_chars:
        return False
    return syntax.max_words is None or _word_count(query) <= syntax.max_words


def pack(terms: Sequence[str], syntax: Syntax, exclude: Sequence[str] = EXCLUDE) -> list[str]:
    """Terms packed in order into queries within the platform's limits (deterministic).

    A term that cannot fit even alone is left out rather than breaking the limit.
    """
    tail = [*_negatives(syntax, exclude), *syntax.suffix]
    if syntax.hashtags:
        tags = list(dict.fromkeys(h for h in (hashtag(t) for t in terms) if h))
        return tags[: syntax.max_queries]
    if syntax.joiner is None:
        single = [" ".join([quote(t, syntax), *tail]) for t in terms]
        return list(dict.fromkeys(q for q in single if fits(q, syntax)))[: syntax.max_queries]
    queries: list[str] = []
    body: list[str] = []
    for term in terms:
        part = quote(term, syntax)
        if part in body:
            continue
        if fits(_assemble([*body, part], syntax, tail), syntax):
            body.append(part)
            continue
        if body:
            queries.append(_assemble(body, syntax, tail))
        body = [part] if fits(_assemble([part], syntax, tail), syntax) else []
    if body:
        queries.append(_assemble(body, syntax, tail))
    return queries[: syntax.max_queries]


def default_terms(platform: str) -> list[Term]:
    """The gazetteer terms a platform searches, in priority order."""
    syntax = SYNTAX[platform]
    out: list[Term] = []
    for term in gazetteer_terms():
        if term.kind == "account" and not syntax.mentions:
            continue
        if term.kind == "desa" and not syntax.include_desa:
            continue
        if term.kind == "official" and (syntax.joiner is None and not syntax.hashtags):
            continue  # AND-only search: one query per name, spend them on places
        out.append(term)
    if syntax.hashtags or syntax.joiner is None:
        # One stream per term: the places first so all 18 kecamatan fit under max_queries,
        # then the regency's own names.
        places = [t for t in out if t.kind == "kecamatan"]
        # One spelling per kecamatan where streams are scarce (the short form, e.g. Kayuagung).
        first: dict[str, Term] = {}
        for t in places:
            first.setdefault(t.kecamatan or t.text, t)
        regency = [t for t in out if t.kind == "regency"][:2]
        out = [*regency, *first.values(), *[t for t in out if t.kind == "regency"][2:]]
    return out


def default_queries(platform: str, *, exclude: Sequence[str] = EXCLUDE) -> list[str]:
    """The queries (hashtags, keywords) a source of ``platform`` runs when none are configured."""
    if platform not in SYNTAX:
        raise ValueError(f"platform {platform!r} has no search syntax; known: {', '.join(PLATFORMS)}")
    syntax = SYNTAX[platform]
    return pack([t.text for t in default_terms(platform)], syntax, exclude)


def covered_kecamatan(queries: Sequence[str]) -> set[str]:
    """Which kecamatan the queries name (for tests and ``oki-monitor queries``)."""
    from classifiers.gazetteer import KECAMATAN

    found: set[str] = set()
    texts = [" ".join(_words(q)) for q in queries]
    glued = [q.replace(" ", "") for q in texts]
    for kec in KECAMATAN:
        for spelling in (kec, *SHORT_FORMS.get(kec, ())):
            words = " ".join(_words(spelling))
            tag = words.replace(" ", "")
            if any(re.search(rf"\b{re.escape(words)}\b", t) for t in texts) or any(
                g in (tag, tag + QUALIFIER.lower()) for g in glued
            ):
                found.add(kec)
    return found


def kecamatan_queries(queries: Sequence[str]) -> int:
    """How many leading queries it takes to name all 18 kecamatan (those run every run on X)."""
    from classifiers.gazetteer import KECAMATAN

    for n in range(1, len(queries) + 1):
        if len(covered_kecamatan(queries[:n])) == len(KECAMATAN):
            return n
    return len(queries)


def with_queries(settings: _S, tracked: Sequence[str]) -> _S:
    """``settings`` (a collector's pydantic settings with a ``queries`` list) plus ``tracked`` queries."""
    current: list[str] = list(vars(settings)["queries"])  # a pydantic model keeps its fields in __dict__
    extra = [q for q in dict.fromkeys(tracked) if q and q not in current]
    return settings.model_copy(update={"queries": [*current, *extra]}) if extra else settings


def tracked_query(
    platform: str,
    places: Sequence[str],
    words: Sequence[str],
    *,
    exclude: Sequence[str] = EXCLUDE,
) -> str | None:
    """The query that follows one incident on one platform: its place AND any of its key words.

    ``places`` are the desa then the kecamatan ("Bangsal", "Pampangan"); ``words`` the incident's
    key words, strongest first ("jembatan", "gantung", "putus"). On an AND-only platform the
    query is the first place and the first word. Words are dropped from the end until the query
    fits; ``None`` when not even a place and one word fit, or the platform cannot search.
    """
    if platform not in SEARCHABLE:
        return None
    syntax = SYNTAX[platform]
    places = [p for p in dict.fromkeys(p.strip() for p in places) if p]
    words = [w for w in dict.fromkeys(w.strip() for w in words) if w]
    if not places or not words:
        return None
    tail = [*_negatives(syntax, exclude), *syntax.suffix]
    if syntax.joiner is None:
        query = " ".join([quote(places[0], syntax), quote(words[0], syntax), *tail])
        return query if fits(query, syntax) else None

    def group(items: Sequence[str]) -> str:
        assert syntax.joiner is not None
        parts = [quote(i, syntax) for i in items]
        return parts[0] if len(parts) == 1 else "(" + syntax.joiner.join(parts) + ")"

    for n_words in range(len(words), 0, -1):
        for n_places in range(len(places), 0, -1):
            query = " ".join([group(places[:n_places]), group(words[:n_words]), *tail])
            if fits(query, syntax):
                return query
    return None


__all__ = [
    "EXCLUDE",
    "PLATFORMS",
    "SEARCHABLE",
    "SYNTAX",
    "Syntax",
    "Term",
    "covered_kecamatan",
    "default_queries",
    "default_terms",
    "fits",
    "gazetteer_terms",
    "hashtag",
    "kecamatan_queries",
    "pack",
    "quote",
    "tracked_query",
    "with_queries",
]
