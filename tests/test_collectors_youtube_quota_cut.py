"""Videos found by a search must not be lost when the quota runs out before their statistics call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collectors.youtube import create
from tests.platform_replay import fixture, query_has, replay
from tests.youtube_support import KEY

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def test_quota_spent_by_the_search_does_not_lose_the_found_videos() -> None:
    with replay() as (server, client):
        # A real search honours publishedAfter: only a search from the first run's start finds the two videos.
        server.add("GET", "/search", fixture("youtube", "search_empty.json"))
        first_start = query_has(publishedAfter="2026-11-01T05:00:00Z")
        server.add("GET", "/search", fixture("youtube", "search.json"), when=first_start)
        server.add("GET", "/videos", fixture("youtube", "videos.json"))
        server.add("GET", "/commentThreads", fixture("youtube", "search_empty.json"))
        tight = create("yt-oki", {"base_url": server.base_url, "daily_quota_units": 100}, {"YOUTUBE_API_KEY": KEY})
        first = tight.fetch({}, client, NOW)  # the search spends the whole budget: no statistics call
        roomy = create("yt-oki", {"base_url": server.base_url}, {"YOUTUBE_API_KEY": KEY})
        later = roomy.fetch(first.cursor, client, NOW + timedelta(days=1))
    stored = {i.external_id for i in first.items + later.items if i.kind == "post"}
    assert {"AbCdEfGhIjK", "ZyXwVuTsRqP"} <= stored, (stored, first.cursor.get("published_after"))
