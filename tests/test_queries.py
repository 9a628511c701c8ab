"""Default search queries from the gazetteer (collectors/queries.py) and X walking several of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from classifiers.gazetteer import KECAMATAN
from collectors.base import RateLimited
from collectors.queries import (
    EXCLUDE,
    PLATFORMS,
    SEARCHABLE,
    SYNTAX,
    covered_kecamatan,
    default_queries,
    default_terms,
    fits,
    gazetteer_terms,
    kecamatan_queries,
    pack,
    tracked_query,
)
from collectors.x import XCollector, create
from monitor.stages.tracked_queries import (
    CLOSED,
    COOLED,
    EXPIRED,
    NO_PLACE,
    NO_WORDS,
    OVER_BUDGET,
    RISING_REASON,
    UNSUPPORTED,
    VIRAL,
    Budget,
    IssueFacts,
    active_queries,
    decide,
    key_words,
)
from tests.platform_replay import replay
from tests.x_search_server import Tweet, XSearch, compile_query

NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
SEARCH = "/2/tweets/search/recent"
TOKEN = "test-bearer-queries"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_query_fits_its_platform(platform: str) -> None:
    syntax = SYNTAX[platform]
    queries = default_queries(platform)
    assert 0 < len(queries) <= syntax.max_queries
    for query in queries:
        assert fits(query, syntax), (platform, len(query), query)
    if platform == "x":
        assert max(len(q) for q in queries) <= 512 and all(q.endswith("-is:retweet") for q in queries)
    if platform == "googlenews":
        assert max(len(q.split()) for q in queries) <= 32
    if syntax.hashtags:
        assert all(re.fullmatch(r"[a-z0-9]+", q) for q in queries)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_kecamatan_is_searched_on_every_platform(platform: str) -> None:
    assert covered_kecamatan(default_queries(platform)) == set(KECAMATAN)


def test_x_also_searches_every_strong_desa_name() -> None:
    queries = default_queries("x")
    desa = [t for t in gazetteer_terms() if t.kind == "desa"]
    assert len(desa) > 100
    text = " ".join(queries)
    missing = [t.text for t in desa if f'"{t.text}"' not in text and f" {t.text} " not in text.replace("(", " ")]
    assert missing == []
    # A desa already found by a kept name is not searched twice ("Pedamaran II" by "Pedamaran").
    assert "Pedamaran II" not in text and "Pedamaran" in text
    # Names that need a cue ("Bangsal" is also a hospital ward) or exist elsewhere are not searched bare.
    assert not re.search(r"\bBangsal\b", text)
    # The kecamatan come first: the first queries name all 18, and those run every run.
    assert kecamatan_queries(queries) <= 2


def test_ambiguous_kecamatan_is_qualified() -> None:
    x = default_queries("x")
    assert '"Mesuji OKI"' in x[0] and not re.search(r"\bMesuji\b(?! OKI| Makmur| Raya| Jaya| Lampung)", " ".join(x))
    # OKI's own kecamatan names go bare: the issue's lost bridge posts said "Pampangan", not "Pampangan OKI".
    assert re.search(r"\bPampangan\b(?! OKI)", x[0])


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if SYNTAX[p].negation])
def test_look_alikes_are_excluded_where_the_platform_can(platform: str) -> None:
    negation = SYNTAX[platform].negation
    for query in default_queries(platform):
        for term in ("KTT", "Setiana", '"Ogan Ilir"', "OKU", '"Mesuji Lampung"'):
            assert f"{negation}{term}" in query


def test_look_alikes_are_not_matched_by_the_x_queries() -> None:
    matchers = [compile_query(q) for q in default_queries("x")]
    about_oki = [
        "Jembatan gantung Pampangan putus, warga nyebrang pakai rakit",
        "Air PDAM mati di Kayuagung sejak pagi",
        "Jalan Desa Sungai Sodong rusak parah",
        "@pemkaboki tolong jalan kami",
    ]
    look_alikes = [
        "KTT OKI di Jeddah bahas Palestina",
        "Kajian Oki Setiana Dewi di Kayuagung malam ini",
        "Jembatan ambruk di Tanjung Raja, Ogan Ilir, jangan lewat arah Kayuagung",
        "Banjir di Mesuji Lampung, Tulang Bawang",
        "Baturaja OKU banjir, PDAM mati",
    ]
    assert all(any(m(text) for m in matchers) for text in about_oki)
    assert not any(m(text) for m in matchers for text in look_alikes)


def test_platforms_without_exclusion_or_or_get_one_term_per_query() -> None:
    assert all(" OR " not in q and "|" not in q for q in default_queries("bluesky"))
    assert "ogan komering ilir" in default_queries("tiktok")  # a plain keyword, no quotes
    assert len(default_queries("youtube")) == 1 and "|" in default_queries("youtube")[0]
    assert "NOT KTT" in default_queries("reddit")[0]


def test_queries_are_deterministic() -> None:
    first = {p: default_queries(p) for p in PLATFORMS}
    gazetteer_terms.cache_clear()
    assert {p: default_queries(p) for p in PLATFORMS} == first
    assert [t.text for t in default_terms("x")] == [t.text for t in default_terms("x")]


def test_pack_keeps_order_and_skips_a_term_too_long_alone() -> None:
    syntax = SYNTAX["x"]
    terms = [f"Desa Nomor {i}" for i in range(60)] + ["x" * 600, "Akhir"]
    queries = pack(terms, syntax, EXCLUDE)
    assert all(len(q) <= 512 for q in queries)
    text = " ".join(queries)
    assert text.index('"Desa Nomor 0"') < text.index('"Desa Nomor 59"') < text.index("Akhir")
    assert "x" * 600 not in text


def test_unknown_platform_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="facebook"):
        default_queries("facebook")


def test_tracked_query_per_platform() -> None:
    places, words = ["Bangsal", "Pampangan"], ["jembatan", "gantung", "putus"]
    x = tracked_query("x", places, words)
    assert x is not None and x.startswith("(Bangsal OR Pampangan) (jembatan OR gantung OR putus)")
    assert x.endswith("-is:retweet") and len(x) <= 512
    match = compile_query(x)
    assert match("Jembatan gantung di Bangsal putus total")
    assert not match("Bangsal rumah sakit penuh")  # a place word alone is not the incident
    assert not match("KTT OKI: jembatan diplomasi Pampangan")  # look-alikes still excluded
    assert tracked_query("bluesky", places, words) is not None
    assert tracked_query("bluesky", places, words).startswith("Bangsal jembatan")  # type: ignore[union-attr]
    assert tracked_query("instagram", places, words) is None  # no cheap search there
    assert tracked_query("x", [], words) is None and tracked_query("x", places, []) is None
    long_words = [f"kata{i:03d}panjang" for i in range(60)]
    assert len(tracked_query("x", places, long_words) or "") <= 512
    assert set(SEARCHABLE) <= set(PLATFORMS)


# --- X walks several queries, one cursor each --------------------------------------------------------


def _x(base_url: str, **settings: object) -> XCollector:
    return create("x-oki", {"base_url": base_url, **settings}, {"X_BEARER_TOKEN": TOKEN})


def _store() -> XSearch:
    search = XSearch()
    texts = [
        "Banjir lagi di Pampangan, rumah warga terendam",
        "Jalan Desa Sungai Sodong rusak parah",  # only a desa query finds it
        "Jalan Terusan Menang berlubang",  # in the last desa query
        "KTT OKI di Jeddah bahas Palestina",
        "Kajian Oki Setiana Dewi di Kayuagung",
    ]
    for n, text in enumerate(texts, start=1):
        search.add(Tweet(1985000000000000000 + n, text, NOW - timedelta(hours=1)))
    return search


def test_x_walks_the_kecamatan_queries_every_run_and_the_desa_queries_in_turn() -> None:
    search = _store()
    with replay() as (server, client):
        server.add("GET", SEARCH, search)
        collector = _x(server.base_url, max_pages=3)
        queries, pinned = collector.queries, collector.pinned
        assert pinned == 2 and len(queries) > 4
        cursor: dict[str, object] = {}
        found: set[str] = set()
        for _run in range(len(queries)):
            result = collector.fetch(cursor, client, NOW)
            assert result.calls == 3, "max_pages caps the calls of a run, however many queries"
            found |= {i.text for i in result.items}
            cursor = result.cursor
    walked = search.queries
    assert all(walked[i * 3 : i * 3 + 2] == queries[:2] for i in range(len(queries)))
    assert set(walked) == set(queries), "every desa query had its turn"
    assert found == {
        "Banjir lagi di Pampangan, rumah warga terendam",
        "Jalan Desa Sungai Sodong rusak parah",
        "Jalan Terusan Menang berlubang",
    }
    states = cursor["queries"]
    assert isinstance(states, dict) and set(states) == set(queries)
    # Each query's cursor moved with its own posts only.
    pampangan = next(q for q in queries if compile_query(q)("Banjir lagi di Pampangan"))
    assert states[pampangan] == {"since_id": "1985000000000000001"}
    quiet = next(q for q in queries[2:] if not any(compile_query(q)(t.text) for t in search.tweets))
    assert states[quiet] == {}


def test_x_daily_budget_and_tracked_queries_for_a_run() -> None:
    search = _store()
    search.add(Tweet(1985000000000000100, "Jembatan gantung di Bangsal putus", NOW - timedelta(minutes=30)))
    tracked = tracked_query("x", ["Bangsal", "Pampangan"], ["jembatan", "gantung"])
    assert tracked is not None
    with replay() as (server, client):
        server.add("GET", SEARCH, search)
        collector = _x(server.base_url, max_pages=3)
        with pytest.raises(RateLimited, match="daily_call_budget") as spent:
            collector.for_run([], calls_left=0).fetch({}, client, NOW)
        assert spent.value.retry_after == (datetime(2026, 11, 3, tzinfo=UTC) - NOW).total_seconds()
        assert search.queries == [], "no call once the day's budget is spent"
        one = collector.for_run([], calls_left=1).fetch({}, client, NOW)
        assert one.calls == 1 and search.queries == [collector.queries[0]]
        run = collector.for_run([tracked], calls_left=None).fetch(one.cursor, client, NOW)
    assert search.queries[1] == tracked, "the rising incident's query goes first"
    assert run.calls == 4, "a tracked query is walked on top of the usual round"
    assert "Jembatan gantung di Bangsal putus" in {i.text for i in run.items}
    assert tracked in run.cursor["queries"]
    assert collector.tracked == (), "for_run never changes the configured collector"


def test_x_explicit_queries_and_flat_cursor_still_work() -> None:
    search = _store()
    with replay() as (server, client):
        server.add("GET", SEARCH, search)
        single = _x(server.base_url, query="Pampangan -is:retweet")
        flat = single.fetch({}, client, NOW)
        assert flat.cursor == {"since_id": "1985000000000000001"}
        both = _x(server.base_url, queries=["Pampangan", '"Sungai Sodong"'])
        result = both.fetch({}, client, NOW)
    assert {i.text for i in result.items} == {
        "Banjir lagi di Pampangan, rumah warga terendam",
        "Jalan Desa Sungai Sodong rusak parah",
    }
    assert set(result.cursor["queries"]) == {"Pampangan", '"Sungai Sodong"'}
    with pytest.raises(ValueError, match="512"):
        _x("http://127.0.0.1:1", queries=["x" * 513])


# --- tracked queries while an issue rises (monitor/stages/tracked_queries.py) -------------------------------


BRIDGE_TERMS = {"jembatan": 9.0, "gantung": 6.0, "putus": 4.0, "rakit": 2.0, "anak": 1.0}


def issue(issue_id: int = 1, **changes: object) -> IssueFacts:
    facts: dict[str, object] = {
        "id": issue_id,
        "stage": "naik",
        "status": "open",
        "kecamatan": "Pampangan",
        "desa": "Bangsal",
        "terms": BRIDGE_TERMS,
        "score": 50.0,
        "rising_since": NOW - timedelta(hours=2),
    }
    facts.update(changes)
    return IssueFacts(**facts)  # type: ignore[arg-type]


def only(decisions: list, platform: str = "x"):  # type: ignore[no-untyped-def,type-arg]
    found = [d for d in decisions if d.platform == platform]
    assert len(found) == 1
    return found[0]


def test_rising_issue_is_tracked_with_its_place_and_key_words() -> None:
    decision = only(decide([issue()], NOW, Budget()))
    assert decision.active and decision.reason == RISING_REASON
    assert decision.query.startswith("(Bangsal OR Pampangan) (jembatan OR gantung OR putus)")
    assert decision.expires_at == NOW - timedelta(hours=2) + timedelta(hours=48)
    assert {d.platform for d in decide([issue()], NOW, Budget()) if d.active} == set(SEARCHABLE)


def test_viral_issue_is_tracked_first() -> None:
    decisions = decide([issue(1, score=90.0), issue(2, stage="viral", score=10.0)], NOW, Budget(max_per_platform=1))
    assert only([d for d in decisions if d.issue_id == 2]).reason == VIRAL
    assert only([d for d in decisions if d.issue_id == 2]).active
    assert only([d for d in decisions if d.issue_id == 1]).reason == OVER_BUDGET


def test_cooled_issue_is_not_tracked() -> None:
    for stage in ("mereda", "baru"):
        decision = only(decide([issue(stage=stage)], NOW, Budget()))
        assert not decision.active and decision.reason == COOLED and decision.query is None


def test_closed_or_resolved_issue_is_not_tracked() -> None:
    for status in ("closed", "resolved", "merged"):
        assert only(decide([issue(status=status)], NOW, Budget())).reason == CLOSED


def test_tracked_query_expires() -> None:
    budget = Budget(expiry=timedelta(hours=6))
    assert only(decide([issue(rising_since=NOW - timedelta(hours=5, minutes=59))], NOW, budget)).active
    late = only(decide([issue(rising_since=NOW - timedelta(hours=6))], NOW, budget))
    assert not late.active and late.reason == EXPIRED


def test_issue_without_place_or_words_is_not_tracked() -> None:
    assert only(decide([issue(kecamatan=None, desa=None)], NOW, Budget())).reason == NO_PLACE
    assert only(decide([issue(terms={"air": 5.0, "rt": 3.0})], NOW, Budget())).reason == NO_WORDS


def test_query_that_cannot_fit_is_unsupported() -> None:
    long_place = "Nama Tempat Yang Sangat Panjang " * 12
    decision = only(decide([issue(desa=long_place, kecamatan=long_place)], NOW, Budget()), "bluesky")
    assert not decision.active and decision.reason == UNSUPPORTED


def test_budget_per_platform_is_kept_and_deterministic() -> None:
    issues = [issue(i, score=float(i), desa=f"Desa {i}") for i in range(1, 6)]
    budget = Budget(max_per_platform=2, platforms=("x", "bluesky"))
    decisions = decide(issues, NOW, budget)
    for platform in ("x", "bluesky"):
        assert len(active_queries(decisions, platform)) == 2
    assert {d.issue_id for d in decisions if d.active} == {5, 4}, "the highest scores win"
    assert decide(list(reversed(issues)), NOW, budget) == decisions
    assert [d for d in decide(issues, NOW, Budget(max_per_platform=0)) if d.active] == []


def test_key_words_leave_out_places_and_short_words() -> None:
    words = key_words({"bangsal": 9.0, "jembatan": 5.0, "air": 7.0, "2024": 8.0, "gantung": 5.0}, ["Bangsal"], 3)
    assert words == ("gantung", "jembatan")


@pytest.mark.parametrize("kind", ["bluesky", "reddit"])
def test_sweep_sources_search_and_mark_tracked_queries(kind: str) -> None:
    from collectors.base import load_collector
    from tests.platform_replay import fixture

    path = "/xrpc/app.bsky.feed.searchPosts" if kind == "bluesky" else "/r/indonesia/search.json"
    tracked = "Bangsal jembatan"
    settings: dict[str, object] = {"base_url": "", "queries": ["OKI"], "min_request_interval": 0}
    if kind == "reddit":
        settings |= {"subreddits": ["indonesia"], "user_agent": "oki-viral-monitor/0.1 (test)"}
    with replay() as (server, client):
        server.add("GET", path, fixture(kind, "search_empty.json"))
        server.add("GET", path, fixture(kind, "search_page1.json"), when=lambda q: q.get("q") == tracked)
        collector = load_collector(kind, f"{kind}-oki", {**settings, "base_url": server.base_url}, {})
        run = collector.for_run([tracked], None)  # type: ignore[attr-defined]
        result = run.fetch({}, client, NOW)
        plain = collector.fetch({}, client, NOW)
    assert {c.query["q"] for c in server.calls(path)} == {"OKI", tracked}
    assert result.items and all(i.extra.get("tracked_query") == tracked for i in result.items)
    assert plain.items == [], "the configured collector itself never searches the tracked query"
