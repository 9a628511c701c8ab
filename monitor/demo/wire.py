"""Render demo scenario items in the real wire formats of the open sources (pure functions).

The offline demo's replay server (:mod:`monitor.demo.replay_server`) calls these with
the scenario items as they look at the simulated time, so the real collectors read the
demo exactly as they would read the services:

* :func:`rss_feed` — RSS 2.0 (a news portal's feed);
* :func:`googlenews_feed` — Google News search RSS ("Headline - Publisher", ``<source>``);
* :func:`mastodon_statuses` + :func:`mastodon_link_header` — a tag timeline page and its ``Link`` header;
* :func:`bluesky_search` — an ``app.bsky.feed.searchPosts`` body with ``cursor``;
* :func:`reddit_listing` — a search ``Listing`` with ``after``;
* :func:`telegram_page` — a ``t.me/s/<channel>`` HTML page with ``data-before`` paging.

Scenario ids such as ``mastodon-00012`` are turned into the id shapes each service uses
(numeric, time-ordered status ids; ``at://`` URIs; per-channel message numbers) by the
``*_id`` helpers, which the replay server also uses to answer cursor parameters.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape as xml_escape

from collectors.base import RawItem

DEMO_DID = "did:plc:okidemo000000000000000"
DEMO_INSTANCE = "mastodon.demo.invalid"


def _rfc822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _digits(item: RawItem) -> int:
    return int(re.sub(r"\D", "", item.external_id) or "0")


def _newest_first(items: Iterable[RawItem]) -> list[RawItem]:
    return sorted(items, key=lambda i: (i.created_at, i.external_id), reverse=True)


def _handle(item: RawItem) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", item.author or "warga")[:30] or "warga"


# --- RSS / Google News -----------------------------------------------------------------


def rss_feed(
    items: Iterable[RawItem], *, title: str = "Berita OKI (demo)", link: str = "https://demo.invalid/"
) -> bytes:
    """An RSS 2.0 document of ``items`` (newest first), as a WordPress-style news portal serves it."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{xml_escape(title)}</title><link>{xml_escape(link)}</link>",
        "<description>Berita terkini Ogan Komering Ilir</description><language>id</language>",
    ]
    for item in _newest_first(items):
        headline = item.title or item.text[:100]
        url = item.url or f"{link}berita/{quote(item.external_id)}"
        parts.append(
            "<item>"
            f"<title>{xml_escape(headline)}</title>"
            f"<link>{xml_escape(url)}</link>"
            f'<guid isPermaLink="false">{xml_escape(item.external_id)}</guid>'
            f"<pubDate>{_rfc822(item.created_at)}</pubDate>"
            f"<dc:creator>{xml_escape(item.author or 'Redaksi')}</dc:creator>"
            f"<description>{xml_escape('<p>' + html.escape(item.text) + '</p>')}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def googlenews_feed(items: Iterable[RawItem], *, query: str, publisher: str = "Berita OKI") -> bytes:
    """A Google News search RSS document: "Headline - Publisher" titles, redirect links, ``<source>``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>',
        f"<generator>NFE/5.0</generator><title>{xml_escape(query)} - Google Berita</title>",
        "<link>https://news.google.com/search?hl=id&amp;gl=ID&amp;ceid=ID:id</link><language>id</language>",
    ]
    for item in _newest_first(items):
        headline = item.title or item.text[:100]
        token = "CBMi" + re.sub(r"[^A-Za-z0-9]", "", item.external_id)
        link = f"https://news.google.com/rss/articles/{token}?oc=5"
        desc = (
            f'<a href="{link}" target="_blank">{html.escape(headline)}</a>'
            f'&nbsp;&nbsp;<font color="#6f6f6f">{html.escape(publisher)}</font>'
        )
        parts.append(
            "<item>"
            f"<title>{xml_escape(headline + ' - ' + publisher)}</title>"
            f"<link>{xml_escape(link)}</link>"
            f'<guid isPermaLink="false">{token}</guid>'
            f"<pubDate>{_rfc822(item.created_at)}</pubDate>"
            f"<description>{xml_escape(desc)}</description>"
            f'<source url="https://demo.invalid">{xml_escape(publisher)}</source>'
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


# --- Mastodon ---------------------------------------------------------------------------


def mastodon_id(item: RawItem) -> str:
    """A Mastodon-style id: milliseconds since 1970 shifted left 16 bits plus a sequence (grows with time)."""
    if item.external_id.isdigit():
        return item.external_id
    return str((int(item.created_at.timestamp() * 1000) << 16) + _digits(item) % (1 << 16))


def _status(item: RawItem) -> dict[str, Any]:
    sid = mastodon_id(item)
    acct = _handle(item)
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n\n"))
    return {
        "id": sid,
        "created_at": _iso(item.created_at),
        "in_reply_to_id": item.parent_id,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "id",
        "uri": f"https://{DEMO_INSTANCE}/users/{acct}/statuses/{sid}",
        "url": f"https://{DEMO_INSTANCE}/@{acct}/{sid}",
        "replies_count": item.replies,
        "reblogs_count": item.shares,
        "favourites_count": item.likes,
        "edited_at": None,
        "content": paragraphs.replace("\n", "<br />"),
        "reblog": None,
        "account": {
            "id": str(zlib.crc32(acct.encode())),
            "username": acct,
            "acct": acct,
            "display_name": item.author or acct,
            "url": f"https://{DEMO_INSTANCE}/@{acct}",
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "oki", "url": f"https://{DEMO_INSTANCE}/tags/oki"}],
        "emojis": [],
    }


def mastodon_page(
    items: Iterable[RawItem],
    *,
    max_id: str | None = None,
    since_id: str | None = None,
    min_id: str | None = None,
    limit: int = 20,
) -> list[RawItem]:
    """The items a tag timeline returns for these parameters (Mastodon semantics), newest first.

    ``min_id`` returns the ``limit`` statuses immediately after it; ``since_id`` the newest
    ``limit`` after it; ``max_id`` the newest ``limit`` before it.
    """
    limit = max(1, min(limit, 40))
    ordered = sorted(items, key=lambda i: int(mastodon_id(i)), reverse=True)
    if max_id is not None and max_id.isdigit():
        ordered = [i for i in ordered if int(mastodon_id(i)) < int(max_id)]
    if since_id is not None and since_id.isdigit():
        ordered = [i for i in ordered if int(mastodon_id(i)) > int(since_id)]
    if min_id is not None and min_id.isdigit():
        after = [i for i in ordered if int(mastodon_id(i)) > int(min_id)]
        return after[-limit:]
    return ordered[:limit]


def mastodon_statuses(page: Sequence[RawItem]) -> list[dict[str, Any]]:
    """A tag timeline body: a bare JSON array of Status entities."""
    return [_status(i) for i in page]


def mastodon_link_header(page: Sequence[RawItem], endpoint: str, *, limit: int = 20) -> str | None:
    """The ``Link`` header for a page: ``next`` (older, ``max_id``) and ``prev`` (newer, ``min_id``)."""
    if not page:
        return None
    ids = [int(mastodon_id(i)) for i in page]
    older = f"{endpoint}?{urlencode({'limit': limit, 'max_id': min(ids)})}"
    newer = f"{endpoint}?{urlencode({'limit': limit, 'min_id': max(ids)})}"
    return f'<{older}>; rel="next", <{newer}>; rel="prev"'


# --- Bluesky ----------------------------------------------------------------------------


def bluesky_uri(item: RawItem) -> str:
    """An ``at://`` post URI with a time-ordered record key."""
    rkey = f"3demo{int(item.created_at.timestamp()):010d}{_digits(item) % 100000:05d}"
    return f"at://{DEMO_DID}/app.bsky.feed.post/{rkey}"


def bluesky_search(
    items: Iterable[RawItem], *, cursor: str | None = None, limit: int = 25, since: datetime | None = None
) -> dict[str, Any]:
    """An ``app.bsky.feed.searchPosts`` body (sort=latest): newest first, ``cursor`` = offset of the next page."""
    posts = [i for i in _newest_first(items) if since is None or i.created_at >= since]
    start = int(cursor) if cursor and cursor.isdigit() else 0
    limit = max(1, min(limit, 100))
    page = posts[start : start + limit]
    body: dict[str, Any] = {"hitsTotal": len(posts), "posts": [_post_view(i) for i in page]}
    if start + limit < len(posts):
        body["cursor"] = str(start + limit)
    return body


def bluesky_get_posts(items: Iterable[RawItem], uris: Sequence[str]) -> dict[str, Any]:
    """An ``app.bsky.feed.getPosts`` body: the posts still visible among ``uris`` (missing ones left out)."""
    wanted = set(uris)
    return {"posts": [_post_view(i) for i in items if bluesky_uri(i) in wanted]}


def _post_view(item: RawItem) -> dict[str, Any]:
    handle = _handle(item).lower().replace("_", "-") + ".bsky.social"
    return {
        "uri": bluesky_uri(item),
        "cid": "bafyrei" + format(_digits(item), "x").rjust(12, "a"),
        "author": {"did": DEMO_DID, "handle": handle, "displayName": item.author or handle},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": item.text,
            "createdAt": _iso(item.created_at),
            "langs": ["id"],
        },
        "replyCount": item.replies,
        "repostCount": item.shares,
        "likeCount": item.likes,
        "quoteCount": 0,
        "bookmarkCount": 0,
        "indexedAt": _iso(item.created_at),
        "labels": [],
    }


# --- Reddit -----------------------------------------------------------------------------


def reddit_id(item: RawItem) -> str:
    """A base-36 post id (``t3_`` + this is the fullname)."""
    n = int(item.created_at.timestamp()) * 1000 + _digits(item) % 1000
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def reddit_listing(
    items: Iterable[RawItem], *, after: str | None = None, limit: int = 25, subreddit: str = "indonesia"
) -> dict[str, Any]:
    """A search ``Listing`` (sort=new): newest first, ``after`` = fullname of the last post when more exist."""
    posts = _newest_first(items)
    start = 0
    if after:
        names = [f"t3_{reddit_id(i)}" for i in posts]
        start = names.index(after) + 1 if after in names else len(posts)
    page = posts[start : start + limit]
    children: list[dict[str, Any]] = []
    for item in page:
        rid = reddit_id(item)
        permalink = f"/r/{subreddit}/comments/{rid}/demo/"
        children.append(
            {
                "kind": "t3",
                "data": {
                    "id": rid,
                    "name": f"t3_{rid}",
                    "subreddit": subreddit,
                    "title": item.title or item.text[:120],
                    "selftext": item.text,
                    "author": _handle(item),
                    "created_utc": float(int(item.created_at.timestamp())),
                    "ups": item.likes,
                    "score": item.likes,
                    "num_comments": item.replies,
                    "over_18": False,
                    "is_self": True,
                    "permalink": permalink,
                    "url": "https://www.reddit.com" + permalink,
                },
            }
        )
    more = start + limit < len(posts)
    return {
        "kind": "Listing",
        "data": {
            "after": children[-1]["data"]["name"] if more and children else None,
            "dist": len(children),
            "modhash": "",
            "geo_filter": None,
            "children": children,
            "before": None,
        },
    }


# --- Telegram public channel preview ----------------------------------------------------


def telegram_ids(all_items: Iterable[RawItem]) -> dict[str, int]:
    """Channel message numbers: 1, 2, 3, ... in publication order over the *whole* scenario (stable)."""
    ordered = sorted(all_items, key=lambda i: (i.created_at, i.external_id))
    return {item.external_id: n for n, item in enumerate(ordered, start=1)}


def _views(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.1f}K"
    return str(n)


def telegram_page(
    items: Iterable[RawItem],
    ids: dict[str, int],
    *,
    channel: str,
    before: int | None = None,
    page_size: int = 20,
) -> str:
    """A ``t.me/s/<channel>`` HTML page: the ``page_size`` messages before ``before`` (newest at the bottom)."""
    numbered = sorted(((ids[i.external_id], i) for i in items if i.external_id in ids), key=lambda p: p[0])
    if before is not None:
        numbered = [p for p in numbered if p[0] < before]
    page = numbered[-page_size:]
    name = html.escape(channel)
    out = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>{name} – Telegram</title></head><body>",
        '<section class="tgme_channel_history js-message_history">',
    ]
    if page and page[0][0] > 1:
        first = page[0][0]
        out.append(
            '<div class="tgme_widget_message_centered js-messages_more_wrap">'
            f'<a href="/s/{name}?before={first}" class="tme_messages_more js-messages_more" '
            f'data-before="{first}"></a></div>'
        )
    for number, item in page:
        text = "<br/>".join(html.escape(line) for line in item.text.split("\n"))
        out.append(
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{name}/{number}">'
            '<div class="tgme_widget_message_bubble">'
            '<div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name" '
            f'href="https://t.me/{name}"><span dir="auto">{html.escape(item.author or channel)}</span></a></div>'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            '<div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{_views(item.views)}</span>'
            '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
            f'href="https://t.me/{name}/{number}"><time datetime="{item.created_at.astimezone(UTC).isoformat()}" '
            'class="time">00:00</time></a></span>'
            "</div></div></div></div></div>"
        )
    out.append("</section></body></html>")
    return "".join(out)
