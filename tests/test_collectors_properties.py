"""Property tests: the pure parsers never crash on arbitrary input; they only raise documented errors."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.base import SourceError
from collectors.bluesky import parse_search
from collectors.common import OUT_OF_RANGE, html_to_text
from collectors.googlenews import parse_googlenews
from collectors.import_file import parse_jsonl
from collectors.mastodon import parse_statuses
from collectors.reddit import parse_listing
from collectors.rss import parse_feed
from collectors.telegram_channel import parse_channel_page

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=30,
)
status_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(max_size=20),
        "created_at": json_values | st.just("2026-11-02T01:00:00Z"),
        "content": json_values | st.text(max_size=80),
        "account": json_values,
        "reblog": json_values,
        "in_reply_to_id": json_values,
        "favourites_count": json_values | st.integers(min_value=10**11, max_value=10**40),
        "reblogs_count": st.floats(allow_nan=True, allow_infinity=True) | st.text(alphabet="0123456789", max_size=30),
    },
)


@FAST
@given(st.lists(status_like, max_size=6) | json_values)
def test_mastodon_parser(data: Any) -> None:
    try:
        page = parse_statuses(data, source="m", instance="i", now=NOW)
    except SourceError:
        return
    for item in page.items:
        assert (item.created_at.tzinfo is not None and item.text and "<" not in item.text) or "&lt;" not in item.text
        # Every count is bounded: in range it is stored, above 10^12 it is marked so ingest rejects the item.
        assert all(0 <= c <= OUT_OF_RANGE for c in (item.likes, item.shares, item.replies, item.views))


@FAST
@given(
    st.fixed_dictionaries(
        {}, optional={"posts": st.lists(json_values, max_size=5) | json_values, "cursor": json_values}
    )
    | json_values
)
def test_bluesky_parser(data: Any) -> None:
    with contextlib.suppress(SourceError):
        parse_search(data, source="b", now=NOW)


@FAST
@given(json_values | st.fixed_dictionaries({"kind": st.just("Listing"), "data": json_values}))
def test_reddit_parser(data: Any) -> None:
    with contextlib.suppress(SourceError):
        parse_listing(data, source="r", now=NOW)


xmlish = st.lists(
    st.sampled_from(
        [
            '<rss version="2.0">',
            "<channel>",
            "<item>",
            "<title>",
            "</title>",
            "<guid>",
            "</guid>",
            "<pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate>",
            "<description>isi</description>",
            "<link>https://portal.example/x</link>",
            "</item>",
            "</channel>",
            "</rss>",
            "&amp;",
            "<![CDATA[x]]>",
            "<!DOCTYPE rss>",
            '<?xml version="1.0"?>',
            "Kayuagung",
            "\xff",
            "<feed>",
        ]
    )
    | st.text(max_size=10),
    max_size=25,
).map("".join)


@FAST
@given(xmlish | st.text(max_size=200), st.binary(max_size=20))
def test_feed_parsers(text: str, tail: bytes) -> None:
    body = text.encode("utf-8", "surrogatepass") + tail
    with contextlib.suppress(SourceError):
        feed = parse_feed(body, source="f", now=NOW)
        # An undated item is kept only with a description (a bare title is a truncated item).
        assert all(i.text != (i.title or "") or not i.extra.get("date_missing") for i in feed.items)
    with contextlib.suppress(SourceError):
        parse_googlenews(body, source="f", now=NOW)


@FAST
@given(
    st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                '<section class="tgme_channel_history">',
                '<div class="tgme_widget_message" data-post="c/1">',
                '<div class="tgme_widget_message_text">',
                "</div>",
                '<time datetime="2026-11-02T01:00:00+00:00">',
                '<span class="tgme_widget_message_views">1.2K</span>',
                "<br/>",
                "teks",
                "<script>x</script>",
                '<a class="tme_messages_more" data-before="abc">',
                "</section>",
            ]
        ),
        max_size=20,
    ).map("".join)
)
def test_telegram_parser(html: str) -> None:
    try:
        page = parse_channel_page(html, source="t", channel="chan", now=NOW)
    except SourceError:
        return
    assert all("<script" not in item.text for _, item in page.items)


@FAST
@given(st.text(max_size=300))
def test_html_to_text_and_import(text: str) -> None:
    out = html_to_text(text)
    assert "\x00" not in out
    items, errors = parse_jsonl(text, now=NOW)
    assert len(items) + len(errors) <= max(len(text.splitlines()), 1)
