"""TikTok's walk resumes after the page cap like the other sources' walks (no page skipped, no watermark jump)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.platform_replay import replay
from tests.tiktok_support import QUERY, make, serve_pages

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_page_cap_saves_the_walk_and_the_next_run_finishes_it() -> None:
    with replay() as (server, client):
        serve_pages(server)
        tiktok = make(server.base_url, max_pages=1)
        first = tiktok.fetch({"newest_create_time": 1793000000}, client, NOW)
        second = tiktok.fetch(first.cursor, client, NOW)
        tiktok.fetch(second.cursor, client, NOW)
    first_ids = {i.external_id for i in first.items if i.kind == "post"}
    second_ids = {i.external_id for i in second.items if i.kind == "post"}
    assert first_ids and second_ids and not first_ids & second_ids
    # Cut by the cap: the watermark stays, TikTok's cursor and search_id are kept for the next run.
    assert first.cursor["newest_create_time"] == 1793000000
    resume = first.cursor["resume"]
    assert (resume["cursor"], resume["search_id"]) == (100, "7432000000000000999")
    walks = [json.loads(c.body) for c in server.calls(QUERY)]
    assert (walks[1]["cursor"], walks[1]["search_id"]) == (100, "7432000000000000999")
    assert walks[1]["start_date"] == walks[0]["start_date"]  # the same window, not a new one
    # The walk completed on the second run: the watermark moves, nothing is pending.
    assert "resume" not in second.cursor and second.cursor["newest_create_time"] == 1793598000
    assert "cursor" not in walks[2]  # the third run starts a fresh walk from the new watermark
