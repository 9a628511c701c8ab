"""A local HTTP server that serves the demo scenario in every source's real wire format.

It shows only the posts published at or before the simulated time (``now()`` is asked
on every request) with their engagement as it has grown by then, answers each source's
cursor/paging parameters, does ETag/304 for feeds, and can be told to misbehave
(:meth:`ReplayServer.inject`) so tests can check collectors against 429/5xx/slow/
malformed answers. Binds 127.0.0.1 on a free port; nothing touches the internet.

Start it (the demo runner does exactly this)::

    from monitor.demo.replay_server import ReplayServer, demo_sources
    with ReplayServer(build_scenario(), clock.now) as replay:
        sources = demo_sources(replay.base_url)   # list of `sources:` entries for AppConfig

URL layout (``B`` = ``replay.base_url``; items are chosen by ``RawItem.platform``):

====================================================  ==================================================
``B/rss/<name>.xml``                                  RSS 2.0 of ``rss`` items; ETag + If-None-Match → 304
``B/googlenews/rss/search?q=...``                     Google News RSS of ``rss``/``googlenews`` items
``B/mastodon/api/v1/timelines/tag/<tag>``             ``mastodon`` items (any tag); ``limit``, ``max_id``,
                                                      ``since_id``, ``min_id``; ``Link`` header
``B/bluesky/xrpc/app.bsky.feed.searchPosts``          ``bluesky`` items; ``q``, ``limit``, ``cursor``, ``since``
``B/reddit/search.json``, ``B/reddit/r/<s>/search.json``  ``reddit`` items; ``limit``, ``after``
``B/telegram/s/<channel>``                            ``telegram`` items as t.me/s HTML; ``before``
``B/x/2/tweets/search/recent``, ``B/x/2/tweets``      ``x`` items (see :mod:`collectors.wire.x`)
``B/youtube/search``, ``/videos``, ``/commentThreads``  ``youtube`` items (YouTube Data API v3 shapes)
====================================================  ==================================================

Faults: ``replay.inject("/mastodon/", Fault("429", retry_after=60))`` makes the next
request whose path starts with ``/mastodon/`` answer 429 with ``Retry-After: 60``
(``times`` controls how many requests; kinds: ``"401"``, ``"403"``, ``"404"``,
``"429"``, ``"500"``, ``"503"``, ``"slow"`` (sleeps ``delay`` seconds first),
``"malformed"`` (the real body cut in half), ``"html"`` (a consent page)).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from collectors.base import RawItem
from collectors.common import parse_iso
from collectors.wire import bluesky as bluesky_wire
from collectors.wire import googlenews as googlenews_wire
from collectors.wire import mastodon as mastodon_wire
from collectors.wire import reddit as reddit_wire
from collectors.wire import rss as rss_wire
from collectors.wire import telegram_channel as telegram_channel_wire
from collectors.wire import x as x_wire
from collectors.wire import youtube as youtube_wire
from monitor.demo.local_http import LocalHTTPServer

DEMO_X_TOKEN_ENV = "OKI_DEMO_X_TOKEN"
DEMO_YOUTUBE_KEY_ENV = "OKI_DEMO_YOUTUBE_KEY"
TELEGRAM_CHANNEL = "infooki"


@dataclass
class Fault:
    """One kind of misbehaviour for the next ``times`` matching requests."""

    kind: str
    retry_after: int | None = None
    times: int = 1
    delay: float = 0.0


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _Post:
    """A scenario post or a plain item, seen at a given time."""

    def __init__(self, post: Any) -> None:
        self.item: RawItem = post.item if hasattr(post, "item") else post
        self._at: Callable[[datetime], RawItem] | None = getattr(post, "at", None)

    def at(self, now: datetime) -> RawItem:
        return self._at(now) if self._at else self.item


class ReplayServer(LocalHTTPServer):
    """Serves scenario items as each source would at ``now()``; see the module docstring."""

    def __init__(self, posts: Sequence[Any], now: Callable[[], datetime], *, telegram_page_size: int = 20) -> None:
        self.posts = [_Post(p) for p in posts]
        self.now = now
        self.telegram_page_size = telegram_page_size
        self.faults: list[tuple[str, Fault]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._telegram_ids = telegram_channel_wire.telegram_ids(
            p.item for p in self.posts if p.item.platform == "telegram"
        )
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
            # delayed ACKs stall every response by ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                # Repeated parameters (Mastodon's id[]=, Bluesky's uris=) arrive comma-joined.
                query = {k: ",".join(v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server.handle(unquote(parts.path), query, headers)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._serve(Handler)

    def inject(self, path_prefix: str, fault: Fault) -> None:
        """Make the next ``fault.times`` requests under ``path_prefix`` misbehave."""
        with self._lock:
            self.faults.append((path_prefix, fault))

    # --- routing -----------------------------------------------------------------------

    def visible(self, *platforms: str) -> list[RawItem]:
        """Items of ``platforms`` published by now, with engagement as of now."""
        now = self.now()
        return [p.at(now) for p in self.posts if p.item.platform in platforms and p.item.created_at <= now]

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        """The reply for one request (also callable directly in tests)."""
        with self._lock:
            self.requests.append((path, query))
            fault = self._take_fault(path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        try:
            reply = self._route(path, query, headers)
        except (ValueError, KeyError) as exc:
            reply = Reply(400, json.dumps({"error": f"bad request: {exc}"}).encode())
        return _apply(fault, reply) if fault is not None else reply

    def _take_fault(self, path: str) -> Fault | None:
        for index, (prefix, fault) in enumerate(self.faults):
            if path.startswith(prefix):
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[index]
                return fault
        return None

    def _route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.startswith("/rss/"):
            return _feed(rss_wire.rss_feed(_latest(self.visible("rss"), 50)), headers)
        if path == "/googlenews/rss/search":
            items = _latest(self.visible("rss", "googlenews"), 100)
            return _feed(googlenews_wire.googlenews_feed(items, query=query.get("q", "")), headers)
        if path.startswith("/mastodon/api/v1/timelines/tag/"):
            limit = int(query.get("limit", "20"))
            page = mastodon_wire.mastodon_page(
                self.visible("mastodon"),
                max_id=query.get("max_id"),
                since_id=query.get("since_id"),
                min_id=query.get("min_id"),
                limit=limit,
            )
            link = mastodon_wire.mastodon_link_header(page, self.base_url + path, limit=limit)
            return _json(mastodon_wire.mastodon_statuses(page), {"Link": link} if link else {})
        if path == "/mastodon/api/v1/statuses":  # lookup by id (engagement tracking)
            wanted = set(query.get("id[]", "").split(","))
            return _json(
                mastodon_wire.mastodon_statuses(
                    [i for i in self.visible("mastodon") if mastodon_wire.mastodon_id(i) in wanted]
                )
            )
        if path == "/bluesky/xrpc/app.bsky.feed.getPosts":
            return _json(bluesky_wire.bluesky_get_posts(self.visible("bluesky"), query.get("uris", "").split(",")))
        if path == "/reddit/api/info.json":
            names = {i.removeprefix("t3_") for i in query.get("id", "").split(",")}
            found = [i for i in self.visible("reddit") if reddit_wire.reddit_id(i) in names]
            return _json(reddit_wire.reddit_listing(found, limit=100))
        if path == "/bluesky/xrpc/app.bsky.feed.searchPosts":
            since = parse_iso(query.get("since"))
            body = bluesky_wire.bluesky_search(
                self.visible("bluesky"), cursor=query.get("cursor"), limit=int(query.get("limit", "25")), since=since
            )
            return _json(body)
        if path == "/reddit/search.json" or (path.startswith("/reddit/r/") and path.endswith("/search.json")):
            sub = path.split("/")[3] if path.startswith("/reddit/r/") else "indonesia"
            body = reddit_wire.reddit_listing(
                self.visible("reddit"), after=query.get("after"), limit=int(query.get("limit", "25")), subreddit=sub
            )
            return _json(body)
        if path.startswith("/telegram/s/"):
            channel = path.rsplit("/", 1)[-1] or TELEGRAM_CHANNEL
            before = int(query["before"]) if query.get("before", "").isdigit() else None
            html_page = telegram_channel_wire.telegram_page(
                self.visible("telegram"),
                self._telegram_ids,
                channel=channel,
                before=before,
                page_size=self.telegram_page_size,
            )
            return Reply(200, html_page.encode(), "text/html; charset=utf-8")
        if path == "/x/2/tweets/search/recent":
            body = x_wire.x_search_response(
                self.visible("x"),
                since_id=query.get("since_id"),
                next_token=query.get("next_token"),
                max_results=int(query.get("max_results", "100")),
            )
            return _json(body, x_wire.x_rate_limit_headers(self.now()))
        if path == "/x/2/tweets":
            ids = [i for i in query.get("ids", "").split(",") if i]
            return _json(x_wire.x_lookup_response(self.visible("x"), ids), x_wire.x_rate_limit_headers(self.now()))
        if path == "/youtube/search":
            after = parse_iso(query.get("publishedAfter"))
            return _json(youtube_wire.youtube_search_response(self.visible("youtube"), published_after=after))
        if path == "/youtube/videos":
            ids = [i for i in query.get("id", "").split(",") if i]
            return _json(
                youtube_wire.youtube_videos_response(self.visible("youtube"), ids, parts=query.get("part", "snippet"))
            )
        if path == "/youtube/commentThreads":
            body = youtube_wire.youtube_comment_threads_response(
                self.visible("youtube"),
                video_id=query.get("videoId"),
                ids=query["id"].split(",") if query.get("id") else None,
                page_token=query.get("pageToken"),
                max_results=int(query.get("maxResults", "100")),
            )
            return _json(body)
        return Reply(404, b'{"error":"Record not found"}')


def _latest(items: list[RawItem], n: int) -> list[RawItem]:
    return sorted(items, key=lambda i: i.created_at, reverse=True)[:n]


def _json(body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(200, json.dumps(body, ensure_ascii=False).encode("utf-8"), headers=dict(headers or {}))


def _feed(body: bytes, headers: dict[str, str]) -> Reply:
    etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
    if headers.get("if-none-match") == etag:
        return Reply(304, b"", "application/rss+xml; charset=utf-8", {"ETag": etag})
    return Reply(200, body, "application/rss+xml; charset=utf-8", {"ETag": etag})


def _apply(fault: Fault, reply: Reply) -> Reply:
    extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.kind == "malformed":
        return Reply(200, reply.body[: max(len(reply.body) // 2, 1)], reply.content_type, reply.headers)
    if fault.kind == "html":
        return Reply(200, b"<!DOCTYPE html><html><body>Sebelum Anda melanjutkan</body></html>", "text/html")
    if fault.kind.isdigit():
        status = int(fault.kind)
        messages = {429: "Too many requests", 401: "The access token is invalid", 404: "Record not found"}
        body = json.dumps({"error": messages.get(status, "Internal server error")}).encode()
        return Reply(status, body, headers=extra)
    return reply


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """``sources:`` entries pointing every demo source at the replay server at ``base_url``.

    Names match :data:`monitor.demo.scenario.SOURCE_OF`. X and YouTube need a token
    variable; the demo's values are set here (only if unset) because the local server
    accepts any token — they are not secrets.
    """
    os.environ.setdefault(DEMO_X_TOKEN_ENV, "demo-x-token-not-secret")
    os.environ.setdefault(DEMO_YOUTUBE_KEY_ENV, "demo-youtube-key-not-secret")
    local = {"min_request_interval": 0, "allow_private_redirects": True}
    return [
        {
            "name": "demo-berita",
            "kind": "rss",
            "interval_seconds": 1800,
            "settings": {"url": f"{base_url}/rss/berita.xml", "verified": True, **local},
        },
        {
            "name": "demo-mastodon",
            "kind": "mastodon",
            "interval_seconds": 600,
            "settings": {"base_url": f"{base_url}/mastodon", "hashtags": ["oki"], "max_pages": 5, **local},
        },
        {
            "name": "demo-bluesky",
            "kind": "bluesky",
            "interval_seconds": 900,
            "settings": {"base_url": f"{base_url}/bluesky", "queries": ["OKI"], "max_pages": 5, **local},
        },
        {
            "name": "demo-telegram",
            "kind": "telegram_channel",
            "interval_seconds": 900,
            "settings": {"base_url": f"{base_url}/telegram", "channel": TELEGRAM_CHANNEL, "max_pages": 5, **local},
        },
        {
            "name": "demo-x",
            "kind": "x",
            "interval_seconds": 900,
            "token_env": [DEMO_X_TOKEN_ENV],
            # One query: this stand-in does not filter by query, so the gazetteer's ten would read
            # the same posts ten times (tests/test_queries_replay.py runs them against a filtering one).
            "settings": {
                "base_url": f"{base_url}/x",
                "token_env": DEMO_X_TOKEN_ENV,
                "max_results": 100,
                "query": '("Ogan Komering Ilir" OR OKI OR Kayuagung) -is:retweet',
            },
        },
        {
            "name": "demo-youtube",
            "kind": "youtube",
            "interval_seconds": 1800,
            "token_env": [DEMO_YOUTUBE_KEY_ENV],
            "settings": {"base_url": f"{base_url}/youtube", "api_key_env": DEMO_YOUTUBE_KEY_ENV},
        },
    ]
