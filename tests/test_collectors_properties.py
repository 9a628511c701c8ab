"""Property tests: the pure parsers never crash on arbitrary input; they only raise documented errors.

Nearly all of this module's time is Hypothesis drawing the nested inputs (the parsers take about 1 s of it),
so the example count is what it costs. ``OKI_PROPERTY_EXAMPLES`` sets it: 100 by default (Hypothesis's own
default), 2000 or more for a deeper search after a parser change. At 100 the module reaches more parser code
in every run than it did at 150 (1,938 lines of collectors/ in each of three seeds, against 1,880), because
the paths that took many random draws to reach (an item with every field right but one, a feed with whole
items) have an ``@example`` or a whole-item fragment of their own; a fresh seed each run explores the rest.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectors import facebook, instagram, tiktok, x, youtube
from collectors.base import RawItem, SourceError
from collectors.bluesky import parse_search
from collectors.common import MAX_COUNT, OUT_OF_RANGE, html_to_text
from collectors.googlenews import parse_googlenews
from collectors.import_file import parse_csv, parse_jsonl, parse_record
from collectors.mastodon import parse_statuses
from collectors.reddit import parse_listing
from collectors.rss import parse_feed
from collectors.telegram_channel import parse_channel_page
from monitor.stages.ingest import validate_item

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("OKI_PROPERTY_EXAMPLES", "100"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=30,
)
counts: st.SearchStrategy[Any] = (
    json_values
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet="0123456789-.e ", max_size=30)
    | st.sampled_from(["１２３", "²", "1e400", "9" * 60, "-0", " 42 "])
)
"""Anything a hostile or broken server could put where a count belongs."""
stamps: st.SearchStrategy[Any] = json_values | st.sampled_from(
    [
        "2026-11-02T01:00:00Z",
        "2026-11-02T01:00:00.000Z",
        "2026-11-02T01:00:00+0000",
        "2026-11-02T08:00:00+07:00",
        "2026-11-02T01:00:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "2026-13-45T99:99:99Z",
        "",
    ]
)
ids: st.SearchStrategy[Any] = (
    json_values
    | st.sampled_from(["1985000000000000003", "7432000000000000003", "²³", "１２３", "0", "-1", "x" * 400])
    | st.integers(min_value=-(10**30), max_value=10**30)
)
texts: st.SearchStrategy[Any] = json_values | st.text(max_size=60) | st.sampled_from(["", " ", "<b>OKI</b>", "\x00"])


def check_item(item: RawItem) -> None:
    """What every parser promises about an item it returns: plain types, and no count beyond the bound.

    A count above 10^12 may only come back as the marker ``OUT_OF_RANGE``, which ingest's
    validation rejects with its reason; an item ingest accepts has every count in 0..10^12.
    """
    assert isinstance(item, RawItem)
    assert isinstance(item.text, str) and isinstance(item.external_id, str) and item.external_id
    assert all(v is None or isinstance(v, str) for v in (item.title, item.author, item.url, item.parent_id))
    assert item.created_at.tzinfo is not None
    values = (item.likes, item.shares, item.replies, item.views)
    assert all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= OUT_OF_RANGE for c in values)
    problem = validate_item(item, NOW)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert all(c <= MAX_COUNT for c in values)


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
            # Whole items, so a short run still reaches the item paths (id from guid, link or a title hash;
            # body from description; an item with an id but nothing to read) besides the broken markup.
            "<item><guid>g1</guid><title>Jalan rusak</title><description>isi</description></item>",
            "<item><title>Banjir Kayuagung</title><pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate></item>",
            "<item><link>https://portal.example/y</link></item>",
        ]
    )
    | st.text(max_size=10),
    max_size=25,
).map("".join)


RSS_ITEMS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Portal</title>'
    "<item><guid>g1</guid><title>Jalan rusak</title><description>isi &amp; foto</description>"
    "<pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate></item>"
    "<item><title>Banjir Kayuagung</title><pubDate>Mon, 02 Nov 2026 01:00:00 GMT</pubDate></item>"
    "<item><link>https://portal.example/y</link></item>"
    "</channel></rss>"
)
"""A feed whose items take each path of the item reader: guid and body, a title-hash id, an id with nothing to read."""


@FAST
@given(xmlish | st.text(max_size=200), st.binary(max_size=20))
@example(RSS_ITEMS, b"")
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


# --- platform APIs: every item parser, on objects shaped like the real ones with any value anywhere --------

tweet_like = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "text": texts,
        "created_at": stamps,
        "author_id": json_values | st.just("501"),
        "conversation_id": json_values,
        "lang": json_values,
        "referenced_tweets": json_values
        | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["replied_to", "quoted"]), "id": ids}), max_size=2),
        "public_metrics": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                k: counts
                for k in (
                    "like_count",
                    "retweet_count",
                    "quote_count",
                    "reply_count",
                    "impression_count",
                    "bookmark_count",
                )
            },
        ),
    },
)
users_like = st.dictionaries(st.sampled_from(["501", "502"]), json_values | st.fixed_dictionaries({"username": texts}))


@FAST
@given(tweet_like | json_values, users_like)
@example({"id": "²³", "text": "Jalan rusak", "created_at": "2026-11-02T01:00:00Z"}, {})
@example({"id": "1985000000000000003", "created_at": "2026-11-02T01:00:00Z"}, {})
@example({"id": "1985000000000000003", "text": "Jalan rusak"}, {})
@example({"id": "1985000000000000003", "text": "Jalan rusak", "created_at": "2026-11-02T01:00:00"}, {})
@example(
    {
        **{"id": "1985000000000000003", "text": "Jalan rusak", "created_at": "2026-11-02T01:00:00Z"},
        "public_metrics": {"retweet_count": 10**12 + 1, "quote_count": 1},
    },
    {},
)
@example(
    {
        **{"id": "1985000000000000003", "text": "Jalan rusak", "created_at": "2026-11-02T01:00:00Z"},
        "public_metrics": {"like_count": 10**30, "impression_count": "9" * 60},
    },
    {},
)
def test_x_post_parser(tweet: Any, users: dict[str, Any]) -> None:
    try:
        item = x.parse_tweet(tweet, users, "x")
    except (ValueError, TypeError):
        return  # the collector's rejection: logged and counted, the page goes on
    check_item(item)


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "data": st.lists(tweet_like | json_values, max_size=4) | json_values,
            "meta": json_values | st.fixed_dictionaries({}, optional={"newest_id": ids, "next_token": json_values}),
            "includes": json_values | st.fixed_dictionaries({"users": st.lists(json_values, max_size=3)}),
            "errors": json_values,
        },
    )
    | json_values
)
def test_x_page_parser(body: Any) -> None:
    try:
        page = x.parse_search_page(body, "x")
    except SourceError:
        return
    for item in page.items:
        check_item(item)


yt_video = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "snippet": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "title": texts,
                "description": texts,
                "publishedAt": stamps,
                "channelTitle": texts,
                "channelId": json_values,
            },
        ),
        "statistics": json_values
        | st.fixed_dictionaries({}, optional={k: counts for k in ("likeCount", "commentCount", "viewCount")}),
    },
)
yt_comment = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "snippet": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "textOriginal": texts,
                "textDisplay": texts,
                "videoId": ids,
                "publishedAt": stamps,
                "likeCount": counts,
                "authorDisplayName": texts,
            },
        ),
    },
)
yt_thread = st.fixed_dictionaries(
    {},
    optional={
        "snippet": json_values
        | st.fixed_dictionaries(
            {}, optional={"videoId": ids, "topLevelComment": yt_comment | json_values, "totalReplyCount": counts}
        ),
        "replies": json_values | st.fixed_dictionaries({"comments": st.lists(yt_comment | json_values, max_size=3)}),
    },
)


@FAST
@given(yt_video | json_values)
def test_youtube_video_parser(video: Any) -> None:
    try:
        item = youtube.parse_video(video, "yt")
    except (ValueError, TypeError):
        return
    check_item(item)


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={"items": st.lists(yt_thread | json_values, max_size=4) | json_values, "nextPageToken": json_values},
    )
    | json_values
)
def test_youtube_comment_parser(body: Any) -> None:
    try:
        items, rejected, _ = youtube.parse_comment_threads(body, "yt")
    except SourceError:
        return
    assert rejected >= 0
    for item in items:
        check_item(item)


graph_total = json_values | st.fixed_dictionaries(
    {"summary": json_values | st.fixed_dictionaries({"total_count": counts})}
)
fb_post = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "message": texts,
        "created_time": stamps,
        "permalink_url": texts,
        "reactions": graph_total,
        "comments": graph_total,
        "shares": json_values | st.fixed_dictionaries({"count": counts}),
    },
)
fb_comment = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "message": texts,
        "created_time": stamps,
        "permalink_url": texts,
        "from": json_values | st.fixed_dictionaries({"name": texts}),
        "like_count": counts,
        "comment_count": counts,
    },
)


FB_POST = {"id": "1_2", "message": "Jalan rusak", "created_time": "2026-11-02T01:00:00+0000"}


@FAST
@given(fb_post | json_values, fb_comment | json_values)
@example({**FB_POST, "reactions": {"summary": {"total_count": 10**30}}}, None)
@example({**FB_POST, "created_time": "2026-11-02T01:00:00"}, None)
def test_facebook_parsers(post: Any, comment: Any) -> None:
    try:
        item = facebook.parse_post(post, "fb", "1000001")
    except (ValueError, TypeError):
        item = None
    if item is not None:
        check_item(item)
    with contextlib.suppress(ValueError, TypeError):
        check_item(facebook.parse_comment(comment, "fb", "1000001_1"))


ig_media = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "caption": texts,
        "timestamp": stamps,
        "permalink": texts,
        "like_count": counts,
        "comments_count": counts,
        "media_type": json_values,
    },
)
ig_comment = st.fixed_dictionaries(
    {},
    optional={"id": ids, "text": texts, "timestamp": stamps, "username": texts, "like_count": counts},
)


@FAST
@given(ig_media | json_values, ig_comment | json_values)
@example(
    {"id": "1", "timestamp": "2026-11-02T01:00:00+0000", "caption": "Jalan rusak"},
    {"id": "2", "text": "Mantap", "timestamp": "2026-11-02T01:00:00+0000"},
)
def test_instagram_parsers(media: Any, comment: Any) -> None:
    try:
        item = instagram.parse_media(media, "ig", "#kayuagung")
    except (ValueError, TypeError):
        item = None
    if item is not None:
        check_item(item)
    with contextlib.suppress(ValueError, TypeError):
        check_item(instagram.parse_comment(comment, "ig", "179", None))


tt_stamp = json_values | st.integers(min_value=-(10**20), max_value=10**20) | st.just(1793598000)
tt_video = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "video_description": texts,
        "create_time": tt_stamp,
        "username": texts,
        "region_code": json_values,
        "hashtag_names": json_values,
        **{k: counts for k in ("like_count", "comment_count", "share_count", "view_count")},
    },
)
tt_comment = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "video_id": ids,
        "text": texts,
        "create_time": tt_stamp,
        "like_count": counts,
        "reply_count": counts,
    },
)


@FAST
@given(tt_video | json_values, tt_comment | json_values)
@example({"id": "²", "video_description": "Jalan rusak", "create_time": 1793598000}, None)
def test_tiktok_parsers(video: Any, comment: Any) -> None:
    try:
        item = tiktok.parse_video(video, "tt")
    except (ValueError, TypeError):
        pass
    else:
        check_item(item)
        # The collector asks for the comments of a video by its id as a number: it must be one.
        assert item.external_id.isascii() and int(item.external_id) >= 0
    with contextlib.suppress(ValueError, TypeError):
        check_item(tiktok.parse_comment(comment, "tt", None))


# --- the other parsers: the same promises about every item they return -------------------------------------


@FAST
@given(st.lists(status_like, max_size=4))
@example(
    [
        {"id": "1", "created_at": "2026-11-02T01:00:00Z", "content": 5},
        {"id": "2", "created_at": "2026-11-02T01:00:00Z", "content": "<p>Jalan rusak</p>", "account": {}},
    ]
)
def test_mastodon_items(data: Any) -> None:
    try:
        page = parse_statuses(data, source="m", instance="i", now=NOW)
    except SourceError:
        return
    for item in page.items:
        check_item(item)


@FAST
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "posts": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "uri": st.just("at://did:plc:abc/app.bsky.feed.post/3k") | ids,
                        "author": json_values | st.fixed_dictionaries({"handle": texts}),
                        "record": json_values
                        | st.fixed_dictionaries({}, optional={"text": texts, "createdAt": stamps}),
                        "indexedAt": stamps,
                        **{k: counts for k in ("likeCount", "repostCount", "replyCount", "quoteCount")},
                    },
                ),
                max_size=4,
            )
        },
    )
)
@example(
    {
        "posts": [
            {
                "uri": "at://did:plc:abc/app.bsky.feed.post/3k",
                "indexedAt": "2026-11-02T01:00:00Z",
                "record": {"text": "0", "createdAt": "2026-11-02T01:00:00Z"},
                "repostCount": "9" * 60,
                "quoteCount": 1,
            }
        ]
    }
)
def test_bluesky_items(data: Any) -> None:
    try:
        page = parse_search(data, source="b", now=NOW)
    except SourceError:
        return
    for _, item in page.items:
        check_item(item)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"kind": st.just("t3")},
            optional={
                "data": json_values
                | st.fixed_dictionaries(
                    {},
                    optional={
                        "id": ids,
                        "name": ids,
                        "title": texts,
                        "selftext": texts,
                        "created_utc": counts,
                        "permalink": texts,
                        "author": texts,
                        "score": counts,
                        "ups": counts,
                        "num_comments": counts,
                    },
                )
            },
        ),
        max_size=4,
    )
)
def test_reddit_items(children: list[Any]) -> None:
    try:
        page = parse_listing({"kind": "Listing", "data": {"children": children}}, source="r", now=NOW)
    except SourceError:
        return
    for _, item in page.items:
        check_item(item)


@FAST
@given(xmlish)
@example(RSS_ITEMS)
def test_feed_items(text: str) -> None:
    body = text.encode("utf-8", "surrogatepass")
    try:
        feed = parse_feed(body, source="f", now=NOW)
    except SourceError:
        feed = None
    for item in feed.items if feed else []:
        check_item(item)
    try:
        news, _ = parse_googlenews(body, source="g", now=NOW)
    except SourceError:
        news = []
    for item in news:
        check_item(item)


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                '<div class="tgme_widget_message" data-post="infooki/12">',
                '<div class="tgme_widget_message" data-post="infooki/²">',
                '<div class="tgme_widget_message_text">Jalan rusak</div>',
                '<time datetime="2026-11-02T01:00:00+00:00">',
                '<time datetime="9999-12-31T00:00:00+00:00">',
                '<span class="tgme_widget_message_views">' + "9" * 40 + "K</span>",
                '<span class="tgme_widget_message_views">1.2M</span>',
                '<span class="tgme_widget_message_views">' + "9" * 400 + "</span>",
                "</div>",
            ]
        ),
        max_size=12,
    ).map("".join)
)
@example('<div class="tgme_widget_message" data-post="infooki/²"><div class="tgme_widget_message_text">x</div>')
def test_telegram_items(html: str) -> None:
    try:
        page = parse_channel_page(html, source="t", channel="infooki", now=NOW)
    except SourceError:
        return
    for _, item in page.items:
        check_item(item)


# --- import: one row (JSONL object or CSV line) of anything -------------------------------------------------

record_like = st.fixed_dictionaries(
    {},
    optional={
        "source": texts,
        "external_id": ids,
        "text": texts,
        "created_at": stamps,
        "url": texts | st.just("https://x.com/warga/status/1"),
        "author": texts,
        "title": texts,
        "platform": texts,
        "kind": texts | st.sampled_from(["post", "comment", "news"]),
        "parent_id": ids,
        **{k: counts for k in ("likes", "shares", "replies", "views")},
    },
)
GOOD_ROW = {
    "source": "impor",
    "external_id": "a1",
    "text": "Jalan rusak di Cengal",
    "created_at": "2026-11-02T01:00:00Z",
}


@FAST
@given(record_like | json_values)
@example({**GOOD_ROW, "likes": 3.0, "shares": 2.5})
def test_import_record(record: Any) -> None:
    item, problem = parse_record(record, now=NOW)
    if item is None:
        assert isinstance(problem, str) and problem  # a reason in Bahasa for the operator, never an exception
        return
    check_item(item)
    assert validate_item(item, NOW) is None or not item.text.strip()  # import checked what ingest checks


def _line(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (ValueError, TypeError):
        return "{"


@FAST
@given(st.lists(record_like | json_values, max_size=5))
def test_import_jsonl_rows(records: list[Any]) -> None:
    """A good row among any others is always kept; every other row is either an item or a named line."""
    lines = [_line(r) for r in records]
    text = "\n".join([json.dumps(GOOD_ROW), *lines])
    items, errors = parse_jsonl(text, now=NOW)
    assert any(i.external_id == "a1" for i in items)
    assert len(items) + len(errors) <= len(lines) + 1
    assert all(isinstance(e, str) and e.startswith("baris ") for e in errors)
    for item in items:
        check_item(item)


CSV_FIELDS = ["source", "external_id", "text", "created_at", "likes", "shares", "replies", "views", "url", "kind"]


@FAST
@given(st.lists(st.lists(st.text(max_size=25) | counts.map(str), min_size=0, max_size=12), max_size=5))
def test_import_csv_rows(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    writer.writerow([GOOD_ROW.get(f, "") for f in CSV_FIELDS])
    for row in rows:
        writer.writerow([cell.replace("\x00", "") for cell in row])
    items, errors = parse_csv(out.getvalue(), now=NOW)
    assert any(i.external_id == "a1" for i in items)
    assert all(isinstance(e, str) and e.startswith("baris ") for e in errors)
    for item in items:
        check_item(item)


# --- rate-limit headers: httpx decodes header values as Latin-1, so "²" or 400 digits can arrive ----------

header_values = st.text(alphabet=st.characters(max_codepoint=255), max_size=40) | st.sampled_from(
    ["²", "¹²", "9" * 400, "598.0", "1e999", "-1", " 7 "]
)


@FAST
@given(header_values, header_values, header_values)
@example("²", "²", "²")
def test_rate_limit_headers(limit: str, remaining: str, reset: str) -> None:
    from collectors import bluesky, budget, mastodon, reddit

    plain = {"limit": limit, "remaining": remaining, "reset": reset}
    for prefix in ("x-rate-limit-", "x-ratelimit-", "ratelimit-"):
        # As a response carries them: raw bytes, decoded by httpx.
        headers = httpx.Headers({(prefix + k).encode(): v.encode("latin-1") for k, v in plain.items()})
        budget.x_rate_limit(headers)
        mastodon.lookup_rate_limit(headers)
        bluesky.lookup_rate_limit(headers)
        reddit.lookup_rate_limit(headers, NOW)
