"""Instagram Graph API hashtag media and own-media comments, replayed from recorded exchanges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.instagram import InstagramCollector, create
from tests.platform_replay import (
    ReplayServer,
    Reply,
    Responder,
    fixture,
    graph_pages,
    query_has,
    query_lacks,
    replay,
)

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
TOKEN = "IGQVJtestToken0123456789"
USER = "17841400000000001"
TAG_ID = "17843853986012965"


def make(base_url: str, **settings: object) -> InstagramCollector:
    return create(
        "ig-pemkab",
        {"base_url": base_url, "ig_user_id": USER, "hashtags": ["#Kayuagung"], **settings},
        {"IG_ACCESS_TOKEN": TOKEN},
    )


def serve(server: ReplayServer) -> None:
    server.add("GET", "/v24.0/ig_hashtag_search", fixture("instagram", "hashtag_search.json"))
    server.add(
        "GET", f"/v24.0/{TAG_ID}/recent_media", fixture("instagram", "recent_media.json"), when=query_lacks("after")
    )
    server.add(
        "GET",
        f"/v24.0/{TAG_ID}/recent_media",
        fixture("instagram", "recent_media_page2.json"),
        when=query_has(after="NTAyYmJhZAZD"),
    )
    server.add("GET", f"/v24.0/{USER}/media", fixture("instagram", "own_media.json"))
    server.add("GET", "/v24.0/17900000000000001/comments", fixture("instagram", "comments.json"))


def test_hashtag_media_and_own_media_comments() -> None:
    with replay() as (server, client):
        serve(server)
        result = make(server.base_url).fetch({}, client, NOW)
    ids = [i.external_id for i in result.items]
    # page 2 stops at the first media older than the 24 h first-run window
    assert ids == [
        "17880997618081620",
        "17880997618081610",
        "17900000000000001_17858893269000001",
        "17900000000000001_17858893269000002",
    ]
    media = result.items[0]
    assert (media.likes, media.replies, media.url) == (230, 14, "https://www.instagram.com/p/Cxyz001/")
    comment = result.items[2]
    assert comment.kind == "comment" and comment.parent_id == "17900000000000001" and comment.likes == 41
    assert comment.author == "warga_cengal"
    assert result.rejected == 2  # media without timestamp, comment without text
    search = server.calls("/v24.0/ig_hashtag_search")[0]
    assert search.query == {"user_id": USER, "q": "kayuagung"}
    assert result.cursor["hashtag_ids"] == {"kayuagung": TAG_ID}
    assert result.cursor["hashtags"]["kayuagung"] == "2026-11-02T04:20:00+00:00"
    assert result.cursor["media"] == {"17900000000000001": "2026-11-02T03:30:00+00:00"}
    assert server.calls("/v24.0/17900000000000002/comments") == []  # no comments: no call
    assert result.calls == 5


def test_second_run_reuses_hashtag_id_and_nothing_new() -> None:
    with replay() as (server, client):
        serve(server)
        collector = make(server.base_url)
        first = collector.fetch({}, client, NOW)
        server.add("GET", f"/v24.0/{TAG_ID}/recent_media", fixture("instagram", "recent_media_empty.json"))
        second = collector.fetch(first.cursor, client, NOW)
    assert len(server.calls("/v24.0/ig_hashtag_search")) == 1  # the 30-per-week hashtag budget is spared
    assert second.items == []
    assert second.cursor == first.cursor


def test_invalid_token_is_auth_failed() -> None:
    with replay() as (server, client):
        server.add("GET", "/v24.0/ig_hashtag_search", fixture("instagram", "token_invalid_190.json"))
        with pytest.raises(AuthFailed) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert "IG_ACCESS_TOKEN" in str(info.value) and TOKEN not in str(info.value)
    with pytest.raises(AuthFailed, match="IG_ACCESS_TOKEN"):
        create("ig", {}, {})


def test_app_limit_is_rate_limited() -> None:
    with replay() as (server, client):
        server.add("GET", "/v24.0/ig_hashtag_search", fixture("instagram", "throttled_4.json"))
        with pytest.raises(RateLimited, match="#4"):
            make(server.base_url).fetch({}, client, NOW)


def test_malformed_body() -> None:
    with replay() as (server, client):
        server.add("GET", "/v24.0/ig_hashtag_search", fixture("instagram", "malformed_200.json"))
        with pytest.raises(SourceError, match="not valid JSON"):
            make(server.base_url).fetch({}, client, NOW)


def test_too_many_hashtags_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="30"):
        create("ig", {"hashtags": [f"t{i}" for i in range(31)]}, {"IG_ACCESS_TOKEN": TOKEN})


def test_lookup_media_and_comments() -> None:
    with replay() as (server, client):
        server.add("GET", "/v24.0/", fixture("instagram", "lookup_media.json"), when=query_has(ids="17880997618081620"))
        server.add(
            "GET", "/v24.0/", fixture("instagram", "lookup_comments.json"), when=query_has(ids="17858893269000001")
        )
        readings, calls = make(server.base_url).lookup(
            ["17880997618081620", "17900000000000001_17858893269000001"], client, NOW
        )
    assert calls == 2
    assert {r.external_id: (r.likes, r.replies) for r in readings} == {
        "17880997618081620": (1730, 96),
        "17900000000000001_17858893269000001": (210, 0),
    }
    assert server.requests[1].query["fields"] == "like_count"


def test_usage_ceiling_stops_before_the_next_call() -> None:
    with replay() as (server, client):
        serve(server)
        server.add(
            "GET",
            "/v24.0/ig_hashtag_search",
            fixture("instagram", "hashtag_search.json", x_app_usage='{"call_count":96,"total_time":10}'),
        )
        result = make(server.base_url).fetch({}, client, NOW)
    assert len(server.requests) == 1 and result.items == [] and result.calls == 1
    assert result.rate_limit["used_percent"] == 96
    assert result.cursor["hashtag_ids"] == {"kayuagung": TAG_ID}  # the looked-up id is kept all the same


def _recent_media(count_: int, page_size: int) -> Responder:
    """Newest-first recent_media pages of ``count_`` media a minute apart before NOW, then one older media."""
    media = [
        {
            "id": f"m{n}",
            "caption": f"banjir {n} #kayuagung",
            "media_type": "IMAGE",
            "timestamp": (NOW - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        for n in range(1, count_ + 1)
    ]
    media.append({"id": "mold", "caption": "lama", "media_type": "IMAGE", "timestamp": "2026-11-01T23:00:00+0000"})
    return graph_pages(media, page_size)


def test_hashtag_burst_beyond_max_pages_is_read_over_later_runs() -> None:
    # 120 new media, 50 a page, one page a run: the old code moved the tag's watermark to the newest media
    # after the first page and the 70 older ones were never read.
    mark = "2026-11-02T00:00:00+00:00"
    cursor: dict[str, object] = {"hashtag_ids": {"kayuagung": TAG_ID}, "hashtags": {"kayuagung": mark}, "media": {}}
    got: list[str] = []
    marks = []
    with replay() as (server, client):
        server.add("GET", f"/v24.0/{TAG_ID}/recent_media", _recent_media(120, 50))
        for run in range(4):
            result = make(server.base_url, max_pages=1, own_media=0).fetch(cursor, client, NOW + timedelta(minutes=run))
            got += [i.external_id for i in result.items]
            cursor = result.cursor
            marks.append(cursor["hashtags"]["kayuagung"])  # type: ignore[index]
    assert sorted(got) == sorted(f"m{n}" for n in range(1, 121))
    assert marks == [mark, mark, "2026-11-02T04:59:00+00:00", "2026-11-02T04:59:00+00:00"]
    assert "hashtag_walks" not in cursor


def test_stale_pending_hashtag_token_walks_again_from_newest() -> None:
    cursor = {
        "hashtag_ids": {"kayuagung": TAG_ID},
        "hashtags": {"kayuagung": "2026-11-02T04:57:00+00:00"},
        "media": {},
        "hashtag_walks": {"kayuagung": {"after": "STALE", "top": "2026-11-02T04:58:00+00:00"}},
    }
    with replay() as (server, client):
        server.add("GET", f"/v24.0/{TAG_ID}/recent_media", _recent_media(120, 50))
        server.add(
            "GET",
            f"/v24.0/{TAG_ID}/recent_media",
            Reply(400, {"error": {"code": 100, "message": "bad"}}),
            when=query_has(after="STALE"),
        )
        result = make(server.base_url, max_pages=1, own_media=0).fetch(cursor, client, NOW)
    assert [i.external_id for i in result.items] == ["m1", "m2"]
    assert result.cursor == {
        "hashtag_ids": {"kayuagung": TAG_ID},
        "hashtags": {"kayuagung": "2026-11-02T04:59:00+00:00"},
        "media": {},
    }
