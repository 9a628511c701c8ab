"""The X and YouTube wire renderers (collectors/wire), read back by the real collectors through a local server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.base import RawItem
from collectors.wire.x import x_id, x_lookup_response, x_rate_limit_headers, x_search_response
from collectors.wire.youtube import (
    DEMO_VIDEO_ID,
    youtube_comment_threads_response,
    youtube_search_response,
    youtube_videos_response,
)
from collectors.x import create as create_x
from collectors.youtube import create as create_youtube
from tests.platform_replay import Reply, replay

T = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def item(n: int, platform: str, minutes_ago: int, likes: int, kind: str = "post") -> RawItem:
    return RawItem(
        source=f"demo-{platform}",
        platform=platform,
        external_id=f"{platform}-{n:05d}",
        text=f"Jalan rusak di Cengal OKI nomor {n}",
        created_at=T - timedelta(minutes=minutes_ago),
        author=f"warga{n}",
        kind=kind,
        likes=likes,
        shares=n,
        replies=2 * n,
        views=100 * n,
    )


def test_x_search_and_lookup_round_trip() -> None:
    posts = [item(n, "x", 10 * n, likes=5 * n) for n in range(1, 6)]
    grown = [RawItem(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "likes": p.likes * 10}) for p in posts]
    with replay() as (server, client):
        server.add(
            "GET",
            "/2/tweets/search/recent",
            lambda q: Reply(
                200,
                x_search_response(
                    posts, since_id=q.get("since_id"), next_token=q.get("next_token"), max_results=int(q["max_results"])
                ),
                x_rate_limit_headers(T),
            ),
        )
        server.add("GET", "/2/tweets", lambda q: Reply(200, x_lookup_response(grown, q["ids"].split(","))))
        x = create_x(
            "demo-x", {"base_url": server.base_url, "max_results": 10, "query": "OKI"}, {"X_BEARER_TOKEN": "demo-token"}
        )
        first = x.fetch({}, client, T)
        again = x.fetch(first.cursor, client, T)
        readings, calls = x.lookup([x_id(p) for p in posts] + ["1"], client, T)
    assert [i.text for i in first.items] == [p.text for p in posts]  # newest first, all on one page
    assert [(i.likes, i.shares, i.replies, i.views) for i in first.items] == [
        (p.likes, p.shares, p.replies, p.views) for p in posts
    ]
    assert first.rejected == 0 and again.items == []
    assert first.cursor["since_id"] == x_id(posts[0])
    assert calls == 1 and sorted(r.likes for r in readings) == sorted(p.likes * 10 for p in posts)


def test_x_search_pages_when_more_than_max_results() -> None:
    posts = [item(n, "x", n, likes=1) for n in range(1, 26)]
    body = x_search_response(posts, max_results=10)
    assert body["meta"]["result_count"] == 10 and body["meta"]["next_token"] == "10"
    last = x_search_response(posts, max_results=10, next_token="20")
    assert last["meta"]["result_count"] == 5 and "next_token" not in last["meta"]


def test_youtube_search_statistics_comments_and_lookup_round_trip() -> None:
    comments = [item(n, "youtube", 5 * n, likes=n, kind="comment") for n in range(1, 4)]
    with replay() as (server, client):
        server.add("GET", "/search", lambda q: Reply(200, youtube_search_response(comments)))
        server.add(
            "GET",
            "/videos",
            lambda q: Reply(200, youtube_videos_response(comments, q["id"].split(","), parts=q["part"])),
        )
        server.add(
            "GET",
            "/commentThreads",
            lambda q: Reply(
                200,
                youtube_comment_threads_response(
                    comments,
                    video_id=q.get("videoId"),
                    ids=q["id"].split(",") if "id" in q else None,
                    page_token=q.get("pageToken"),
                ),
            ),
        )
        yt = create_youtube("demo-youtube", {"base_url": server.base_url}, {"YOUTUBE_API_KEY": "demo-key"})
        result = yt.fetch({}, client, T)
        readings, calls = yt.lookup([DEMO_VIDEO_ID, comments[0].external_id], client, T)
    by_id = {i.external_id: i for i in result.items}
    assert by_id[DEMO_VIDEO_ID].kind == "post" and by_id[DEMO_VIDEO_ID].replies == 3
    for c in comments:
        got = by_id[c.external_id]
        assert (got.text, got.likes, got.replies, got.parent_id) == (c.text, c.likes, c.replies, DEMO_VIDEO_ID)
        assert got.created_at == c.created_at
    assert result.rejected == 0 and result.calls == 100 + 1 + 1
    assert calls == 2 and {r.external_id for r in readings} == {DEMO_VIDEO_ID, comments[0].external_id}
