"""Facebook Graph API page posts and comments, replayed from recorded exchanges on a local server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.facebook import FacebookCollector, create
from tests.platform_replay import (
    Reply,
    Responder,
    fixture,
    graph_pages,
    query_has,
    query_lacks,
    replay,
)

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
TOKEN = "EAAGtestPageToken0123456789"
POSTS = "/v24.0/1000001/posts"


def make(base_url: str, **settings: object) -> FacebookCollector:
    return create("fb-pemkab", {"base_url": base_url, "page_ids": ["1000001"], **settings}, {"FB_PAGE_TOKEN": TOKEN})


def test_posts_paging_comments_and_counts() -> None:
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_page1.json"), when=query_lacks("after"))
        server.add("GET", POSTS, fixture("facebook", "posts_page2.json"), when=query_has(after="QVFIUkpsM2ZAQ"))
        server.add("GET", "/v24.0/1000001_2000003/comments", fixture("facebook", "comments.json"))
        server.add("GET", "/v24.0/1000001_2000001/comments", fixture("facebook", "posts_empty.json"))
        result = make(server.base_url).fetch({}, client, NOW)
    by_id = {i.external_id: i for i in result.items}
    assert set(by_id) == {"1000001_2000003", "1000001_2000001", "2000003_3000002", "2000003_3000001"}
    post = by_id["1000001_2000003"]
    assert (post.likes, post.replies, post.shares) == (310, 40, 12)
    assert post.created_at == datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
    comment = by_id["2000003_3000002"]
    assert comment.kind == "comment" and comment.parent_id == "1000001_2000003"
    assert (comment.likes, comment.replies, comment.author) == (15, 2, "Budi Santoso")
    assert result.rejected == 1  # the post with an unreadable date; the photo-only post is skipped quietly
    assert result.calls == 4
    assert result.cursor["pages"] == {"1000001": "2026-11-02T04:00:00+00:00"}
    assert result.cursor["posts"]["1000001_2000003"]["seen"] == "2026-11-02T04:30:00+00:00"
    first = server.calls(POSTS)[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert "reactions.summary(total_count)" in first.query["fields"]
    assert first.query["since"] == str(int(datetime(2026, 10, 31, 5, 0, tzinfo=UTC).timestamp()))
    assert all(TOKEN not in str(r.query) for r in server.requests)
    assert result.rate_limit["used_percent"] == 14  # the last response that carried X-App-Usage


def test_nothing_new_keeps_watermarks_and_stops_at_seen_comments() -> None:
    cursor = {
        "pages": {"1000001": "2026-11-02T04:00:00+00:00"},
        "posts": {"1000001_2000003": {"created": "2026-11-02T04:00:00+00:00", "seen": "2026-11-02T04:30:00+00:00"}},
    }
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_empty.json"))
        server.add("GET", "/v24.0/1000001_2000003/comments", fixture("facebook", "comments.json"))
        result = make(server.base_url).fetch(cursor, client, NOW)
    assert result.items == [] and result.calls == 2
    assert result.cursor == cursor


def test_usage_ceiling_stops_calling() -> None:
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "usage_high.json"))
        result = make(server.base_url).fetch({}, client, NOW)
    assert len(server.requests) == 1 and [i.external_id for i in result.items] == ["1000001_2000009"]
    assert result.rate_limit["used_percent"] == 97


def test_throttled_is_rate_limited_with_regain_time() -> None:
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "throttled_613.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert info.value.retry_after == pytest.approx(25 * 60)
    assert "613" in str(info.value)


def test_expired_token_is_auth_failed() -> None:
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "token_expired_190.json"))
        with pytest.raises(AuthFailed) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert "FB_PAGE_TOKEN" in str(info.value) and "190" in str(info.value) and TOKEN not in str(info.value)
    with pytest.raises(AuthFailed, match="FB_PAGE_TOKEN"):
        create("fb", {"page_ids": ["1"]}, {})


def test_deleted_post_is_dropped_from_watch_list() -> None:
    cursor = {
        "pages": {"1000001": "2026-11-02T04:00:00+00:00"},
        "posts": {"1000001_2000002": {"created": "2026-11-02T03:00:00+00:00"}},
    }
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_empty.json"))
        server.add("GET", "/v24.0/1000001_2000002/comments", fixture("facebook", "object_gone_100.json"))
        result = make(server.base_url).fetch(cursor, client, NOW)
    assert result.cursor["posts"] == {}


def test_malformed_body() -> None:
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "malformed_200.json"))
        with pytest.raises(SourceError, match="not valid JSON"):
            make(server.base_url).fetch({}, client, NOW)


def test_lookup_posts_and_comments_by_id() -> None:
    with replay() as (server, client):
        server.add("GET", "/v24.0/", fixture("facebook", "lookup_posts.json"), when=query_has(ids="1000001_2000003"))
        server.add("GET", "/v24.0/", fixture("facebook", "lookup_comments.json"), when=query_has(ids="2000003_3000002"))
        collector = make(server.base_url)
        readings, calls = collector.lookup(["1000001_2000003", "2000003_3000002"], client, NOW)
    assert calls == 2
    assert {r.external_id: (r.likes, r.replies, r.shares) for r in readings} == {
        "1000001_2000003": (1204, 230, 57),
        "2000003_3000002": (96, 11, 0),
    }
    post_call, comment_call = server.requests
    assert "shares" in post_call.query["fields"] and "shares" not in comment_call.query["fields"]
    assert collector.last_lookup_rate_limit.used_percent is not None


def _burst(prefix: str, count_: int, base: datetime, page_size: int) -> Responder:
    """Newest-first pages of ``count_`` items a minute apart before ``base``, then one older item."""
    items = [
        {
            "id": f"{prefix}{n}",
            "message": f"komentar {n}",
            "created_time": (base - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        for n in range(1, count_ + 1)
    ]
    items.append({"id": f"{prefix}old", "message": "lama", "created_time": "2026-11-01T23:00:00+0000"})
    return graph_pages(items, page_size)


def test_comment_burst_beyond_max_pages_is_read_over_later_runs() -> None:
    # 120 new comments, 50 a page, one page a run: the old code moved "seen" to the newest comment after the
    # first page and the 70 older ones were never read.
    seen = "2026-11-02T00:00:00+00:00"
    cursor: dict[str, object] = {
        "pages": {"1000001": "2026-11-02T04:00:00+00:00"},
        "posts": {"1000001_2000003": {"created": "2026-11-02T04:00:00+00:00", "seen": seen}},
    }
    got: list[str] = []
    marks = []
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_empty.json"))
        server.add("GET", "/v24.0/1000001_2000003/comments", _burst("c", 120, NOW, 50))
        for run in range(4):
            result = make(server.base_url, max_pages=1).fetch(cursor, client, NOW + timedelta(minutes=run))
            got += [i.external_id for i in result.items]
            cursor = result.cursor
            marks.append(cursor["posts"]["1000001_2000003"]["seen"])
    assert sorted(got) == sorted(f"c{n}" for n in range(1, 121))
    assert marks == [seen, seen, "2026-11-02T04:59:00+00:00", "2026-11-02T04:59:00+00:00"]
    assert "pending" not in cursor["posts"]["1000001_2000003"]  # type: ignore[index, operator]


def test_old_comment_cursor_without_pending_still_reads() -> None:
    cursor = {
        "pages": {"1000001": "2026-11-02T04:00:00+00:00"},
        "posts": {"1000001_2000003": {"created": "2026-11-02T04:00:00+00:00", "seen": "2026-11-02T04:57:00+00:00"}},
    }
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_empty.json"))
        server.add("GET", "/v24.0/1000001_2000003/comments", _burst("c", 120, NOW, 50))
        result = make(server.base_url, max_pages=1).fetch(cursor, client, NOW)
    assert [i.external_id for i in result.items] == ["c1", "c2"]
    assert result.cursor["posts"]["1000001_2000003"] == {
        "created": "2026-11-02T04:00:00+00:00",
        "seen": "2026-11-02T04:59:00+00:00",
    }


def test_post_burst_beyond_max_pages_is_read_over_later_runs() -> None:
    # 120 new posts, 25 a page, two pages a run: the old code moved the Page watermark to the newest post
    # after the first run and the 70 older posts (still inside ``since``) were never read.
    posts = _burst("1000001_", 120, NOW, 25)

    def respond(query: dict[str, str]) -> Reply:
        reply = posts(query)
        since = int(query["since"])
        body = dict(reply.body)
        body["data"] = [
            p for p in body["data"] if datetime.strptime(p["created_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp() >= since
        ]
        if not body["data"]:
            body.pop("paging", None)
        return Reply(200, body)

    mark = "2026-11-02T02:00:00+00:00"
    cursor: dict[str, object] = {"pages": {"1000001": mark}, "posts": {}}
    got: list[str] = []
    marks = []
    with replay() as (server, client):
        server.add("GET", POSTS, respond)
        for run in range(4):
            result = make(server.base_url, max_pages=2, page_size=25, watch_posts=0).fetch(
                cursor, client, NOW + timedelta(minutes=run)
            )
            got += [i.external_id for i in result.items]
            cursor = result.cursor
            marks.append(cursor["pages"]["1000001"])  # type: ignore[index]
    assert sorted(got) == sorted(f"1000001_{n}" for n in range(1, 121))
    assert marks == [mark, mark, "2026-11-02T04:59:00+00:00", "2026-11-02T04:59:00+00:00"]
    assert "page_walks" not in cursor


def test_stale_pending_comment_token_walks_again_from_newest() -> None:
    # Graph cursors expire: a stored token answered with code 100 must not drop the post from the watch list.
    seen = "2026-11-02T04:57:00+00:00"
    cursor = {
        "pages": {"1000001": "2026-11-02T04:00:00+00:00"},
        "posts": {
            "1000001_2000003": {
                "created": "2026-11-02T04:00:00+00:00",
                "seen": seen,
                "pending": {"after": "STALE", "top": "2026-11-02T04:58:00+00:00"},
            }
        },
    }
    with replay() as (server, client):
        server.add("GET", POSTS, fixture("facebook", "posts_empty.json"))
        server.add("GET", "/v24.0/1000001_2000003/comments", _burst("c", 120, NOW, 50))
        server.add(
            "GET",
            "/v24.0/1000001_2000003/comments",
            fixture("facebook", "object_gone_100.json"),
            when=query_has(after="STALE"),
        )
        result = make(server.base_url, max_pages=1).fetch(cursor, client, NOW)
    assert [i.external_id for i in result.items] == ["c1", "c2"]
    assert result.cursor["posts"]["1000001_2000003"] == {
        "created": "2026-11-02T04:00:00+00:00",
        "seen": "2026-11-02T04:59:00+00:00",
    }
