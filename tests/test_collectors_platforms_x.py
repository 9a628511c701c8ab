"""X API v2 recent search and lookup, replayed from recorded exchanges on a local server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError, load_collector
from collectors.x import XCollector, build_query, create
from tests.platform_replay import ReplayServer, Reply, fixture, query_has, query_lacks, replay

NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
TOKEN = "test-bearer-AAAAsecret0123456789"
SEARCH = "/2/tweets/search/recent"


QUERY = '("Ogan Komering Ilir" OR Kayuagung) -KTT -is:retweet'
NEXT_TOKEN = "b26v89c19zqg8o3fosbkqy0xx1a4az5s1kj5a6rxhfu9l"
"""The ``next_token`` of the recorded first search page."""


def serve_chain(server: ReplayServer, first: Reply, second: Reply) -> None:
    """A two-page search chain: ``first`` answers a call without a ``next_token``, ``second`` the one after it."""
    server.add("GET", SEARCH, first, when=query_lacks("next_token"))
    server.add("GET", SEARCH, second, when=query_has(next_token=NEXT_TOKEN))


def make(base_url: str, **settings: object) -> XCollector:
    """One explicit query: the paging tests below are about one query's chain (flat cursor)."""
    return create("x-oki", {"base_url": base_url, "query": QUERY, **settings}, {"X_BEARER_TOKEN": TOKEN})


def test_query_from_gazetteer_fits_limit_and_excludes_confusers() -> None:
    query = build_query(["Ogan Komering Ilir", "Kayuagung", "Tulung Selapan"], ["KTT", "Setiana"])
    assert query == '("Ogan Komering Ilir" OR Kayuagung OR "Tulung Selapan") -KTT -Setiana -is:retweet'
    long_terms = [f"Desa Nomor {i}" for i in range(100)]
    short = build_query(long_terms, ["KTT"])
    assert len(short) <= 512
    assert '"Desa Nomor 0"' in short and '"Desa Nomor 99"' not in short
    with pytest.raises(ValueError, match="512"):
        build_query(["x" * 600])


def test_default_query_is_valid() -> None:
    collector = create("x-oki", {"base_url": "http://127.0.0.1:1"}, {"X_BEARER_TOKEN": TOKEN})
    assert all(len(q) <= 512 and q.endswith("-is:retweet") for q in collector.queries)
    assert '"Ogan Komering Ilir"' in collector.query and "-is:retweet" in collector.query


def test_paging_follows_next_token_with_same_bound_and_saves_newest_id() -> None:
    with replay() as (server, client):
        serve_chain(server, fixture("x", "search_page1.json"), fixture("x", "search_page2.json"))
        collector = make(server.base_url)
        cursor = {"since_id": "1984000000000000000"}
        result = collector.fetch(cursor, client, NOW)
    assert cursor == {"since_id": "1984000000000000000"}, "fetch must not mutate the cursor"
    assert [i.external_id for i in result.items] == [
        "1985000000000000003",
        "1985000000000000002",
        "1985000000000000001",
    ]
    assert result.rejected == 1  # the post without text
    assert result.calls == 2
    assert result.cursor == {"since_id": "1985000000000000003"}
    first, reply, _ = result.items
    assert first.url == "https://x.com/wargacengal/status/1985000000000000003"
    assert (first.likes, first.shares, first.replies, first.views) == (88, 15, 7, 5400)
    assert first.created_at == datetime(2026, 11, 2, 4, 10, tzinfo=UTC)
    assert reply.kind == "comment" and reply.parent_id == "1984999999999999000"
    calls = server.calls(SEARCH)
    assert all(c.query["since_id"] == "1984000000000000000" for c in calls)
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert calls[0].query["expansions"] == "author_id"
    assert "public_metrics" in calls[0].query["tweet.fields"]
    assert result.rate_limit["remaining"] == 448


def test_first_run_uses_start_time_window() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "search_empty.json"))
        result = make(server.base_url, first_run_hours=6).fetch({}, client, NOW)
    assert server.calls(SEARCH)[0].query["start_time"] == "2026-11-01T22:30:00Z"
    assert "since_id" not in server.calls(SEARCH)[0].query
    assert result.items == [] and result.cursor == {}


def test_nothing_new_keeps_cursor() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "search_empty.json"))
        result = make(server.base_url).fetch({"since_id": "1985000000000000003"}, client, NOW)
    assert result.items == [] and result.rejected == 0 and result.calls == 1
    assert result.cursor == {"since_id": "1985000000000000003"}


def test_exhausted_window_stops_paging_and_resumes_next_run() -> None:
    with replay() as (server, client):
        serve_chain(
            server, fixture("x", "search_page1.json", x_rate_limit_remaining="0"), fixture("x", "search_page2.json")
        )
        collector = make(server.base_url)
        first = collector.fetch({"since_id": "1984000000000000000"}, client, NOW)
        assert first.calls == 1 and len(first.items) == 2
        assert first.cursor["resume"] == {
            "since_id": "1984000000000000000",
            "next_token": NEXT_TOKEN,
        }
        assert first.rate_limit["remaining"] == 0
        second = collector.fetch(first.cursor, client, NOW)
    assert [i.external_id for i in second.items] == ["1985000000000000001"]
    assert second.cursor == {"since_id": "1985000000000000003"}
    assert server.calls(SEARCH)[1].query["since_id"] == "1984000000000000000"


def test_429_raises_rate_limited_with_reset_from_headers() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "rate_limited_429.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch({"since_id": "1"}, client, NOW)
    assert info.value.retry_after == pytest.approx(1800)
    assert "X rate limit" in str(info.value)


def test_429_mid_chain_keeps_items_and_resumes() -> None:
    with replay() as (server, client):
        serve_chain(server, fixture("x", "search_page1.json"), fixture("x", "rate_limited_429.json"))
        result = make(server.base_url).fetch({"since_id": "1984000000000000000"}, client, NOW)
    assert len(result.items) == 2 and result.calls == 1
    assert result.cursor["resume"]["next_token"] == NEXT_TOKEN
    assert result.rate_limit["remaining"] == 0


def test_usage_capped_waits_long() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "usage_capped_429.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert info.value.retry_after is not None and info.value.retry_after >= 6 * 3600
    assert "usage-capped" in str(info.value)


def test_revoked_token_is_auth_failed_without_leaking_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "unauthorized_401.json"))
        collector = make(server.base_url)
        with pytest.raises(AuthFailed) as info:
            collector.fetch({}, client, NOW)
    message = str(info.value)
    assert "X_BEARER_TOKEN" in message and "HTTP 401" in message
    assert TOKEN not in message and TOKEN not in repr(collector) and TOKEN not in caplog.text


def test_malformed_body_is_a_clear_source_error() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, fixture("x", "malformed_200.json"))
        with pytest.raises(SourceError, match="not valid JSON"):
            make(server.base_url).fetch({}, client, NOW)


def test_wrong_shape_is_a_clear_source_error() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, Reply(200, {"data": {"id": "1"}, "meta": {}}))
        with pytest.raises(SourceError, match="'data' is dict"):
            make(server.base_url).fetch({}, client, NOW)


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(AuthFailed, match="set environment variable X_BEARER_TOKEN"):
        load_collector("x", "x-oki", {}, {})
    with pytest.raises(AuthFailed, match="MY_X"):
        create("x-oki", {"token_env": "MY_X"}, {"X_BEARER_TOKEN": TOKEN})


def test_lookup_reads_metrics_and_skips_deleted() -> None:
    with replay() as (server, client):
        server.add("GET", "/2/tweets", fixture("x", "lookup.json"))
        collector = make(server.base_url)
        ids = ["1985000000000000003", "1985000000000000002", "1985000000000000001"]
        readings, calls = collector.lookup(ids, client, NOW)
    assert calls == 1
    assert {r.external_id: (r.likes, r.shares, r.replies, r.views) for r in readings} == {
        "1985000000000000003": (310, 46, 19, 21000),
        "1985000000000000002": (11, 2, 3, 900),
    }
    assert server.calls("/2/tweets")[0].query["ids"] == ",".join(ids)
    assert collector.last_lookup_rate_limit.remaining == 899


def test_lookup_splits_into_calls_of_100() -> None:
    with replay() as (server, client):
        server.add("GET", "/2/tweets", fixture("x", "lookup.json"))
        _, calls = make(server.base_url).lookup([str(10**18 + i) for i in range(250)], client, NOW)
    assert calls == 3
    assert [len(c.query["ids"].split(",")) for c in server.calls("/2/tweets")] == [100, 100, 50]


def test_fetch_reports_lookup_window_so_the_source_row_keeps_it() -> None:
    with replay() as (server, client):
        server.add("GET", "/2/tweets", fixture("x", "lookup.json"))
        server.add("GET", SEARCH, fixture("x", "search_empty.json"))
        collector = make(server.base_url)
        before = collector.fetch({}, client, NOW)
        collector.lookup(["1985000000000000003"], client, NOW)
        after = collector.fetch({}, client, NOW)
    assert "lookup" not in before.rate_limit
    assert after.rate_limit["lookup"]["remaining"] == 899 and after.rate_limit["remaining"] == 447
