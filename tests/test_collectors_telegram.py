"""Public Telegram channel preview (t.me/s) collector against recorded pages served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.base import RateLimited, SourceError
from collectors.telegram_channel import create, parse_views
from tests.platform_replay import fixture, query_has, query_lacks, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/s/infooki"


def make(base: str, **extra: object) -> object:
    return create("telegram-infooki", {"base_url": base, "channel": "@infooki", "min_request_interval": 0, **extra}, {})


def test_messages_views_reply_trap_and_before_paging() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("telegram_channel", "channel_page.json"), when=query_lacks("before"))
        server.add("GET", PATH, fixture("telegram_channel", "channel_before_101.json"), when=query_has(before="101"))
        t = make(server.base_url)
        first = t.fetch({"mark": 99}, client, NOW)  # type: ignore[attr-defined]
    ids = [i.external_id for i in first.items]
    assert ids == ["infooki/102", "infooki/101", "infooki/100"]  # 99 is the mark; newest first
    assert first.rejected == 3  # duplicate 102, photo without text, year 2100
    reply = first.items[0]
    assert reply.text == "Betul min, jalan Sungai Lumpur parah"  # the quoted text is not read as the message
    road = first.items[1]
    assert road.text == "Jalan di Cengal rusak…\nMohon perhatian Dinas PUPR\nexample.org/x"
    assert road.views == 12_500 and road.url == "https://t.me/infooki/101"
    assert first.items[2].views == 2_100
    assert first.cursor == {"mark": 102, "pending": None}


def test_nothing_new_and_next_run() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("telegram_channel", "channel_newer.json"), when=query_lacks("before"))
        server.add("GET", PATH, fixture("telegram_channel", "channel_page.json"), when=query_has(before="105"))
        t = make(server.base_url)
        result = t.fetch({"mark": 104, "pending": None}, client, NOW)  # type: ignore[attr-defined]
        same = t.fetch(result.cursor, client, NOW)  # type: ignore[attr-defined]
    assert [i.external_id for i in result.items] == ["infooki/105"] and result.cursor["mark"] == 105
    assert same.items == [] and same.cursor == result.cursor


def test_not_a_channel_page_and_429() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("telegram_channel", "not_a_channel.json"))
        server.add("GET", "/s/other_ch", fixture("telegram_channel", "rate_limited_429.json"))
        with pytest.raises(SourceError, match="no message list"):
            make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
        other = create("tg", {"base_url": server.base_url, "channel": "other_ch", "min_request_interval": 0}, {})
        with pytest.raises(RateLimited) as info:
            other.fetch({}, client, NOW)
    assert info.value.retry_after == 30.0


def test_empty_channel_is_fine() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("telegram_channel", "channel_empty.json"))
        result = make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
    assert result.items == [] and result.cursor == {"mark": None, "pending": None}


@pytest.mark.parametrize(
    ("text", "n"), [("900", 900), ("1.2K", 1200), ("12,5K", 12500), ("1.1M", 1_100_000), ("", 0), ("lots", 0)]
)
def test_parse_views(text: str, n: int) -> None:
    assert parse_views(text) == n
