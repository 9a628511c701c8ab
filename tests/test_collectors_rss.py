"""RSS collector: recorded feeds replayed from 127.0.0.1 — first fetch, next, 304, errors, hostile XML."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from collectors.base import RateLimited, SourceError
from collectors.common import collecting_notes
from collectors.rss import FeedRejected, create, parse_feed
from tests.platform_replay import Reply, fixture, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
LOCAL = {"min_request_interval": 0}


def collector(url: str) -> object:
    return create("antara-sumsel", {"url": url, "verified": True, **LOCAL}, {})


def test_first_fetch_next_fetch_and_304_keep_the_cursor_right() -> None:
    with replay() as (server, client):
        route = server.add(
            "GET",
            "/rss",
            fixture("rss", "feed_page.json"),
            fixture("rss", "feed_next.json"),
            fixture("rss", "not_modified_304.json"),
        )
        rss = create("antara-sumsel", {"url": server.base_url + "/rss", **LOCAL}, {})
        first = rss.fetch({}, client, NOW)
        second = rss.fetch(first.cursor, client, NOW)
        third = rss.fetch(second.cursor, client, NOW)
        sent = server.calls("/rss")
    assert route.served == 3
    assert [i.external_id for i in first.items] == ["n-103", "n-102"]
    assert first.rejected == 3  # duplicate guid, year 2100, year 1970
    road = first.items[0]
    assert road.kind == "news" and road.created_at == datetime(2026, 11, 2, 3, 30, tzinfo=UTC)
    assert (
        road.text
        == "Warga Desa Sungai Lumpur, Kecamatan Cengal, Kabupaten OKI menanam pohon pisang.\nMereka menuntut perbaikan."
    )
    assert "alert" not in road.text and "<" not in road.text
    assert first.items[1].created_at == datetime(2026, 11, 1, 18, 0, tzinfo=UTC)  # +0700 converted
    assert first.cursor["etag"] == '"v1"' and set(first.cursor["seen"]) == {"n-103", "n-102"}
    # Next fetch: conditional headers sent, only the new story comes back.
    assert sent[1].headers["if-none-match"] == '"v1"'
    assert "if-modified-since" in sent[1].headers
    assert [i.external_id for i in second.items] == ["n-104"]
    assert second.cursor["etag"] == '"v2"'
    # 304: nothing parsed, cursor unchanged.
    assert third.not_modified and third.items == [] and third.cursor == second.cursor and third.calls == 1


@pytest.mark.parametrize(
    ("name", "exc", "retry_after"),
    [("rate_limited_429.json", RateLimited, 120.0), ("server_error_503.json", SourceError, None)],
)
def test_error_statuses_raise_with_retry_after(name: str, exc: type[SourceError], retry_after: float | None) -> None:
    with replay() as (server, client):
        server.add("GET", "/rss", fixture("rss", name))
        with pytest.raises(exc) as info:
            collector(server.base_url + "/rss").fetch({"etag": '"v1"'}, client, NOW)  # type: ignore[attr-defined]
    assert info.value.retry_after == retry_after and "antara-sumsel" in str(info.value)


def test_html_page_and_truncated_feed() -> None:
    with replay() as (server, client):
        server.add("GET", "/html", fixture("rss", "html_page.json"))
        server.add("GET", "/cut", fixture("rss", "truncated.json"))
        with pytest.raises(FeedRejected, match="HTML page"):
            collector(server.base_url + "/html").fetch({}, client, NOW)  # type: ignore[attr-defined]
        cut = collector(server.base_url + "/cut").fetch({}, client, NOW)  # type: ignore[attr-defined]
    # A truncated feed is parsed leniently: what is complete survives, and the streak is counted.
    assert cut.cursor["bozo_streak"] == 1
    assert all(i.external_id.startswith("n-") for i in cut.items)


BOMB_NESTED = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>"""


def quadratic_bomb(entity_chars: int, refs: int) -> bytes:
    ent = b"A" * entity_chars
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
        + ent
        + b'">]><rss version="2.0"><channel><item><title>'
        + b"&a;" * refs
        + b"</title></item></channel></rss>"
    )


@pytest.mark.parametrize(
    "body",
    [BOMB_NESTED, XXE, quadratic_bomb(20_000, 20_000), quadratic_bomb(100_000, 20_000), XXE.decode().encode("utf-16")],
    ids=["billion-laughs", "xxe-file", "quadratic-80kb", "quadratic-2mb", "xxe-utf16"],
)
def test_entity_declarations_are_rejected_before_parsing(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(FeedRejected, match="xml-entities"):
        parse_feed(body, source="antara-sumsel", now=NOW)
    assert time.perf_counter() - started < 0.1


def test_plain_doctype_without_subset_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><item><guid>g</guid>'
        b"<title>Kayuagung</title><pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate></item></channel></rss>"
    )
    feed = parse_feed(body, source="s", now=NOW)
    assert [i.text for i in feed.items] == ["Kayuagung"]


def test_invalid_utf8_and_mixed_encodings_do_not_crash() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item><guid>g1</guid>'
        b"<title>Caf\xe9 Kayuagung \xff\xfe</title><pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, source="s", now=NOW)
    assert len(feed.items) == 1 and "Kayuagung" in feed.items[0].text


def test_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=r"source bad: settings\.url"):
        create("bad", {"url": "ftp://x.example/feed"}, {})
    with pytest.raises(ValueError, match=r"settings\.colour"):
        create("bad", {"url": "https://x.example/feed", "colour": "red"}, {})


def test_timeout_names_the_source() -> None:
    with replay() as (server, client):
        server.add("GET", "/rss", lambda q: (time.sleep(1.5), Reply(200, "x"))[1])
        rss = create("slow-feed", {"url": server.base_url + "/rss", "deadline_seconds": 0.5, **LOCAL}, {})
        with pytest.raises(SourceError, match="slow-feed"):
            rss.fetch({}, client, NOW)


TRUNCATED_ITEM = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Portal</title>
<item><title>Jalan rusak di Kayuagung</title><link>https://portal.example/a</link>
<description>Warga mengeluh jalan berlubang.</description><pubDate>Mon, 02 Nov 2026 03:00:00 GMT</pubDate></item>
<item><title>Air PDAM mati di Pedamaran</title><link>https://portal.example/b</link>
<description>Tanpa tanggal, tetapi berisi.</description></item>
<item><title>Banjir di Cengal</title><link>https://portal.example/c</link></item>
</channel></rss>"""


def test_an_item_without_date_and_description_is_rejected_with_its_reason() -> None:
    """Issue 19 item 9: a cut-off item was stored with the fetch time as its date and its title as its text."""
    with collecting_notes() as notes:
        feed = parse_feed(TRUNCATED_ITEM, source="portal", now=NOW)
    assert [i.external_id for i in feed.items] == ["https://portal.example/a", "https://portal.example/b"]
    assert feed.items[1].created_at == NOW and feed.items[1].extra.get("date_missing") is True  # body: still kept
    assert feed.rejected == 1
    assert notes == [
        "item 'https://portal.example/c': feed item without date and without description (truncated feed?)"
    ]


def test_items_beyond_max_items_are_reported_not_dropped_silently() -> None:
    items = "".join(
        f"<item><guid>n-{k}</guid><title>Berita {k} Kayuagung</title><description>isi {k}</description>"
        f"<pubDate>Mon, 02 Nov 2026 03:{k:02d}:00 GMT</pubDate></item>"
        for k in range(12)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>{items}</channel></rss>'.encode()
    with collecting_notes() as notes:
        feed = parse_feed(body, source="portal", now=NOW, max_items=10)
    assert len(feed.items) == 10 and feed.dropped == 2 and feed.rejected == 0
    assert len(notes) == 1 and "12 items" in notes[0] and "2 dropped" in notes[0] and "max_items" in notes[0]
