"""Reddit search collector against recorded Listings served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.base import AuthFailed, RateLimited
from collectors.reddit import create
from tests.platform_replay import fixture, query_has, query_lacks, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/r/indonesia/search.json"
UA = "oki-viral-monitor/0.1 (by Diskominfo OKI; test)"


def make(base: str, **extra: object) -> object:
    settings = {
        "base_url": base,
        "subreddits": ["indonesia"],
        "queries": ["OKI"],
        "user_agent": UA,
        "min_request_interval": 0,
        **extra,
    }
    return create("reddit-indonesia", settings, {})


def test_pages_with_after_and_sends_the_user_agent() -> None:
    mark = "2026-10-01T00:00:00|t3_old"
    with replay() as (server, client):
        server.add("GET", PATH, fixture("reddit", "search_page1.json"), when=query_lacks("after"))
        server.add("GET", PATH, fixture("reddit", "search_page2.json"), when=query_has(after="t3_1ezfsc3"))
        r = make(server.base_url)
        result = r.fetch({"streams": {"indonesia:OKI": {"mark": mark}}}, client, NOW)  # type: ignore[attr-defined]
        again = r.fetch(result.cursor, client, NOW)  # type: ignore[attr-defined]
        seen = server.calls(PATH)
    assert [i.external_id for i in result.items] == ["t3_1ezfsc5", "t3_1ezfsc4", "t3_1ezfsc2"]
    assert result.rejected == 1
    top = result.items[0]
    assert top.text == "Jalan lintas timur di OKI rusak parah\n\nSudah berbulan-bulan &amp; belum diperbaiki"
    assert top.url == "https://www.reddit.com/r/indonesia/comments/1ezfsc5/post/" and top.likes == 120
    assert seen[0].headers["user-agent"] == UA and seen[0].query["restrict_sr"] == "1"
    assert result.cursor["streams"]["indonesia:OKI"]["pending"] is None
    assert again.items == []


@pytest.mark.parametrize(
    ("name", "exc"),
    [
        ("rate_limited_429.json", RateLimited),
        ("rate_limited_in_200.json", RateLimited),
        ("forbidden_403.json", AuthFailed),
    ],
)
def test_rate_limits_even_inside_200(name: str, exc: type[Exception]) -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("reddit", name))
        with pytest.raises(exc, match="reddit-indonesia"):
            make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]


def test_default_user_agents_are_refused() -> None:
    with pytest.raises(ValueError, match=r"settings\.user_agent"):
        create("r", {"queries": ["OKI"], "user_agent": "python-httpx/0.28"}, {})
