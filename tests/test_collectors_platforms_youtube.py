"""YouTube Data API v3: search, statistics, comment threads and quota, replayed from a local server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.budget import next_pacific_midnight, pacific_day
from collectors.youtube import create
from tests.platform_replay import ReplayServer, Reply, Responder, fixture, query_has, replay
from tests.youtube_support import KEY, make

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
CHANNEL = "UCpemkaboki000000000001"


def serve_default(server: ReplayServer) -> None:
    server.add("GET", "/search", fixture("youtube", "search.json"))
    server.add("GET", "/videos", fixture("youtube", "videos.json"))
    server.add("GET", "/commentThreads", fixture("youtube", "comment_threads_video.json"),
               when=query_has(videoId="AbCdEfGhIjK"))
    server.add("GET", "/commentThreads", fixture("youtube", "comments_disabled_403.json"),
               when=query_has(videoId="ZyXwVuTsRqP"))
    server.add("GET", "/commentThreads", fixture("youtube", "comment_threads_channel.json"),
               when=query_has(allThreadsRelatedToChannelId=CHANNEL))


def test_first_run_search_statistics_comments_and_quota_units(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with replay() as (server, client):
        serve_default(server)
        collector = make(server.base_url, channel_ids=[CHANNEL])
        result = collector.fetch({}, client, NOW)
    by_id = {i.external_id: i for i in result.items}
    video = by_id["AbCdEfGhIjK"]
    assert video.kind == "post" and video.title == "Jalan rusak di Cengal OKI"
    assert (video.views, video.likes, video.replies) == (33265, 1173, 170)  # strings on the wire
    assert by_id["ZyXwVuTsRqP"].text == "Banjir Tanjung Lubuk OKI"  # empty description: title is the text
    comment = by_id["UgzNewest00000000000AaABAg"]
    assert comment.kind == "comment" and comment.parent_id == "AbCdEfGhIjK"
    assert (comment.likes, comment.replies) == (25, 2)
    assert comment.url == "https://www.youtube.com/watch?v=AbCdEfGhIjK&lc=UgzNewest00000000000AaABAg"
    assert by_id["UgzNewest00000000000AaABAg.9zReply0001"].text == "betul, anak sekolah susah lewat"
    assert by_id["UgwChannel0000000000AaABAg"].parent_id == "PemkabVid01"
    assert result.rejected == 1  # the comment without text
    # search 100 + videos 1 + 2 video threads + 1 channel thread = 104 units
    assert result.calls == 104
    assert result.cursor["quota"] == {"day": pacific_day(NOW), "used": 104}
    assert "ZyXwVuTsRqP" not in result.cursor["videos"]  # comments disabled: no longer watched
    assert result.cursor["videos"]["AbCdEfGhIjK"]["seen"] == "2026-11-02T04:10:00+00:00"
    assert result.cursor["published_after"] == "2026-11-02T03:00:00Z"
    search = server.calls("/search")[0]
    assert search.query["q"].startswith('"Ogan Komering Ilir"|') and search.query["type"] == "video"
    assert search.query["publishedAfter"] == "2026-11-01T05:00:00Z"
    assert all(r.headers["x-goog-api-key"] == KEY for r in server.requests)
    assert all(KEY not in r.path and KEY not in str(r.query) for r in server.requests)
    assert KEY not in caplog.text


def test_second_run_skips_search_within_interval_and_nothing_new() -> None:
    with replay() as (server, client):
        serve_default(server)
        collector = make(server.base_url)
        first = collector.fetch({}, client, NOW)
        second = collector.fetch(first.cursor, client, NOW + timedelta(minutes=15))
    assert len(server.calls("/search")) == 1
    assert second.calls == 1  # only the watched video's comment page
    assert second.cursor["quota"]["used"] == first.calls + 1
    assert second.cursor["last_search_at"] == first.cursor["last_search_at"]


def test_empty_search_is_nothing_new() -> None:
    with replay() as (server, client):
        server.add("GET", "/search", fixture("youtube", "search_empty.json"))
        result = make(server.base_url).fetch({}, client, NOW)
    assert result.items == [] and result.calls == 100 and result.rejected == 0
    assert server.calls("/videos") == []


def test_own_daily_budget_stops_calls() -> None:
    cursor = {"quota": {"day": pacific_day(NOW), "used": 2950}}
    with replay() as (server, client):
        serve_default(server)
        result = make(server.base_url).fetch(cursor, client, NOW)
    assert server.requests == [] and result.calls == 0
    assert result.rate_limit["remaining"] == 0 and "3000 units" in result.rate_limit["note"]
    # Next Pacific day: the budget is fresh.
    tomorrow = next_pacific_midnight(NOW) + timedelta(minutes=1)
    with replay() as (server, client):
        serve_default(server)
        fresh = make(server.base_url).fetch(cursor, client, tomorrow)
    assert fresh.calls > 0 and fresh.cursor["quota"]["day"] == pacific_day(tomorrow)


def test_quota_exceeded_first_call_raises_until_pacific_midnight() -> None:
    with replay() as (server, client):
        server.add("GET", "/search", fixture("youtube", "quota_exceeded_403.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert info.value.retry_after == pytest.approx((next_pacific_midnight(NOW) - NOW).total_seconds())
    assert "quota" in str(info.value)


def test_quota_exceeded_midway_keeps_items_and_stops() -> None:
    with replay() as (server, client):
        serve_default(server)
        server.add("GET", "/commentThreads", fixture("youtube", "quota_exceeded_403.json"))
        collector = make(server.base_url)
        result = collector.fetch({}, client, NOW)
        assert {i.external_id for i in result.items} == {"AbCdEfGhIjK", "ZyXwVuTsRqP"}
        assert result.cursor["quota"]["used"] == 3000  # marked spent: no calls until the day ends
        calls_before = len(server.requests)
        again = collector.fetch(result.cursor, client, NOW + timedelta(hours=2))
    assert len(server.requests) == calls_before and again.calls == 0


def test_invalid_key_is_auth_failed_naming_variable() -> None:
    with replay() as (server, client):
        server.add("GET", "/search", fixture("youtube", "key_invalid_400.json"))
        with pytest.raises(AuthFailed) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert "YOUTUBE_API_KEY" in str(info.value) and KEY not in str(info.value)
    with pytest.raises(AuthFailed, match="YOUTUBE_API_KEY"):
        create("yt", {}, {})


def test_malformed_body_is_a_clear_error() -> None:
    with replay() as (server, client):
        server.add("GET", "/search", fixture("youtube", "malformed_200.json"))
        with pytest.raises(SourceError, match="not valid JSON"):
            make(server.base_url).fetch({}, client, NOW)


def test_comment_paging_stops_at_watermark() -> None:
    with replay() as (server, client):
        server.add("GET", "/commentThreads", fixture("youtube", "comment_threads_channel.json"))
        collector = make(server.base_url, channel_ids=[CHANNEL], comment_pages=5, watch_videos=0)
        cursor = {"last_search_at": NOW.isoformat(), "channels": {CHANNEL: "2026-11-02T02:00:00+00:00"}}
        result = collector.fetch(cursor, client, NOW)
        assert len(server.calls("/commentThreads")) == 1  # the page reached the watermark
        fresh = collector.fetch({"last_search_at": NOW.isoformat()}, client, NOW)
    assert len(server.calls("/commentThreads")) == 1 + 5  # no watermark: follows nextPageToken up to the cap
    assert fresh.cursor["channels"][CHANNEL] == "2026-11-02T02:00:00+00:00"
    assert result.calls == 1


def test_lookup_videos_threads_and_replies() -> None:
    with replay() as (server, client):
        server.add("GET", "/videos", fixture("youtube", "lookup_videos.json"))
        server.add("GET", "/commentThreads", fixture("youtube", "lookup_threads.json"))
        server.add("GET", "/comments", fixture("youtube", "lookup_comments.json"))
        readings, calls = make(server.base_url).lookup(
            ["AbCdEfGhIjK", "UgzNewest00000000000AaABAg", "UgzNewest00000000000AaABAg.9zReply0001"], client, NOW)
    got = {r.external_id: (r.likes, r.replies, r.views) for r in readings}
    assert got == {
        "AbCdEfGhIjK": (4100, 640, 90210),
        "UgzNewest00000000000AaABAg": (260, 31, 0),
        "UgzNewest00000000000AaABAg.9zReply0001": (40, 0, 0),
    }
    assert calls == 3
    assert server.calls("/videos")[0].query == {"part": "statistics", "id": "AbCdEfGhIjK"}


def test_lookup_quota_exceeded_is_rate_limited() -> None:
    with replay() as (server, client):
        server.add("GET", "/videos", fixture("youtube", "quota_exceeded_403.json"))
        with pytest.raises(RateLimited):
            make(server.base_url).lookup(["AbCdEfGhIjK"], client, NOW)


def test_short_rate_limit_is_a_brief_pause_not_a_day() -> None:
    with replay() as (server, client):
        server.add("GET", "/search", fixture("youtube", "rate_limit_exceeded_403.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert info.value.retry_after == 60


def _threads(count_: int, page_size: int, video: str = "AbCdEfGhIjK") -> Responder:
    """Newest-first commentThreads pages of ``count_`` threads a minute apart before NOW, then one older."""
    def thread(n: int, when: datetime) -> dict[str, object]:
        return {"id": f"T{n}", "snippet": {"videoId": video, "totalReplyCount": 0, "topLevelComment": {
            "id": f"T{n}", "snippet": {"textDisplay": f"komentar {n}", "textOriginal": f"komentar {n}",
                                       "authorDisplayName": "warga", "likeCount": 0,
                                       "publishedAt": when.strftime("%Y-%m-%dT%H:%M:%SZ")}}}}

    threads = [thread(n, NOW - timedelta(minutes=n)) for n in range(1, count_ + 1)]
    threads.append(thread(999, datetime(2026, 11, 1, 23, 0, tzinfo=UTC)))

    def respond(query: dict[str, str]) -> Reply:
        start = int(query.get("pageToken", "0"))
        body: dict[str, object] = {"items": threads[start:start + page_size]}
        if start + page_size < len(threads):
            body["nextPageToken"] = str(start + page_size)
        return Reply(200, body)

    return respond


@pytest.mark.parametrize("by_channel", [False, True])
def test_comment_burst_beyond_comment_pages_is_read_over_later_runs(by_channel: bool) -> None:
    # 150 new comments, 100 a page, one page a run: the old code moved the watermark to the newest comment
    # after the first page and the 50 older ones were never read.
    seen = "2026-11-02T00:00:00+00:00"
    cursor: dict[str, object] = {"last_search_at": NOW.isoformat()}
    if by_channel:
        cursor["channels"] = {CHANNEL: seen}
        settings: dict[str, object] = {"channel_ids": [CHANNEL], "watch_videos": 0}
    else:
        cursor["videos"] = {"AbCdEfGhIjK": {"found": NOW.isoformat(), "seen": seen}}
        settings = {}
    got: set[str] = set()
    marks = []
    with replay() as (server, client):
        server.add("GET", "/commentThreads", _threads(150, 100))
        collector = make(server.base_url, comment_pages=1, search_interval_seconds=86400, **settings)
        for run in range(3):
            result = collector.fetch(cursor, client, NOW + timedelta(minutes=run + 1))
            got |= {i.external_id for i in result.items}
            cursor = result.cursor
            keys = ("channels", CHANNEL) if by_channel else ("videos", "AbCdEfGhIjK", "seen")
            value: object = cursor
            for k in keys:
                value = value[k]  # type: ignore[index]
            marks.append(value)
    assert got - {"T999"} == {f"T{n}" for n in range(1, 151)}
    assert marks == [seen, "2026-11-02T04:59:00+00:00", "2026-11-02T04:59:00+00:00"]
    assert "channel_walks" not in cursor
    assert "pending" not in cursor.get("videos", {}).get("AbCdEfGhIjK", {})  # type: ignore[attr-defined]


def test_stale_pending_comment_page_token_reads_again_from_newest() -> None:
    cursor = {"last_search_at": NOW.isoformat(),
              "videos": {"AbCdEfGhIjK": {"found": NOW.isoformat(), "seen": "2026-11-02T04:57:00+00:00",
                                         "pending": {"page": "STALE", "top": "2026-11-02T04:58:00+00:00"}}}}
    with replay() as (server, client):
        server.add("GET", "/commentThreads", _threads(150, 100))
        server.add("GET", "/commentThreads", Reply(400, {"error": {"code": 400, "message": "bad token", "errors": [
            {"reason": "invalidPageToken", "message": "bad token"}]}}), when=query_has(pageToken="STALE"))
        result = make(server.base_url, comment_pages=1, search_interval_seconds=86400).fetch(cursor, client, NOW)
        assert [c.query.get("pageToken") for c in server.calls("/commentThreads")] == ["STALE", None]
    assert {"T1", "T2", "T3"} <= {i.external_id for i in result.items}
    assert result.cursor["videos"]["AbCdEfGhIjK"] == {"found": NOW.isoformat(), "seen": "2026-11-02T04:59:00+00:00"}
