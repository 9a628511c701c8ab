"""Bluesky post search: ``app.bsky.feed.searchPosts`` with ``sort=latest`` and ``cursor`` paging.

Config (``kind: bluesky``)::

    - name: bluesky-oki
      kind: bluesky
      settings: {queries: ["Kayuagung", "Ogan Komering Ilir"]}

Wire format (lexicon ``app.bsky.feed.searchPosts``): ``{"cursor"?, "hitsTotal"?, "posts":
[postView]}``; each postView has ``uri``, ``author.handle``, ``record.text``,
``record.createdAt``, ``indexedAt`` and reply/repost/like/quote counts.

Bluesky has at times refused unauthenticated search (HTTP 403). If the source's
``token_env`` names a variable holding an access JWT, it is sent as a Bearer token
(use ``base_url: https://bsky.social`` then). Each query is walked newest-first back to
the newest post seen last time (see :mod:`collectors.sweep`), ordered by the server's
``indexedAt`` so back-dated ``createdAt`` values cannot hide posts.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field

from collectors.base import FetchResult, JSONDict, MetricsReading, RawItem, SourceError
from collectors.budget import RateLimit
from collectors.common import (
    CommonSettings,
    Pacer,
    clean_text,
    keep_parsed,
    log_rejected,
    parse_iso,
    time_problem,
    to_int,
    validate_settings,
)
from collectors.http import safe_get
from collectors.queries import with_queries
from collectors.sweep import Page, sweep_streams

log = logging.getLogger(__name__)

LOOKUP_BATCH = 25
"""AT-URIs per ``app.bsky.feed.getPosts`` call (the lexicon's ``maxLength``)."""
_POST_URI = re.compile(r"^at://[A-Za-z0-9._:%-]{1,253}/app\.bsky\.feed\.post/[A-Za-z0-9._~:-]{1,512}$")


def _defaults() -> list[str]:
    from collectors.queries import default_queries

    return default_queries("bluesky")


class Settings(CommonSettings):
    """``settings:`` of a Bluesky source."""

    base_url: str = "https://public.api.bsky.app"
    queries: list[str] = Field(default_factory=lambda: _defaults(), min_length=1, max_length=20)
    """Empty in config.yaml: the gazetteer's defaults, one name per query (search is AND-only)."""
    limit: int = Field(25, ge=1, le=100)
    lang: str | None = "id"
    """Only posts in this language (``None`` for all)."""


def _key(when: datetime, uri: str) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "|" + uri


def post_url(uri: str, handle: str | None) -> str | None:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` for an ``at://`` post URI."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    return f"https://bsky.app/profile/{handle or parts[0]}/post/{parts[2]}"


def parse_search(data: Any, *, source: str, now: datetime) -> Page:
    """A searchPosts body as a :class:`~collectors.sweep.Page` (pure).

    Raises :class:`SourceError` if the body is not an object with a ``posts`` list.
    """
    if not isinstance(data, dict) or not isinstance(data.get("posts", []), list):
        raise SourceError(
            f"source {source}: searchPosts answer is not an object with a 'posts' list "
            f"(got {type(data).__name__}); the next run retries"
        )
    items, rejected = keep_parsed(
        data.get("posts", []),
        lambda post: _post(post, source=source, now=now),
        lambda post: post.get("uri") if isinstance(post, dict) else None,
        source=source,
        what="uri",
    )
    cursor = data.get("cursor")
    return Page(items, cursor if isinstance(cursor, str) and cursor else None, rejected)


def _post(post: Any, *, source: str, now: datetime) -> tuple[RawItem | None, str | None, str]:
    if not isinstance(post, dict):
        return None, None, "post is not an object"
    uri = post.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://") or len(uri) > 300:
        return None, None, "post without an at:// uri"
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    assert isinstance(record, dict)
    text = record.get("text")
    if not isinstance(text, str):
        return None, None, "record.text is missing or not a string"
    created = parse_iso(record.get("createdAt"))
    indexed = parse_iso(post.get("indexedAt")) or created
    if created is None or indexed is None:
        return None, None, f"createdAt {str(record.get('createdAt'))[:40]!r} is not an ISO 8601 time"
    problem = time_problem(created, now)
    if problem:
        return None, None, problem
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    assert isinstance(author, dict)
    handle = author.get("handle") if isinstance(author.get("handle"), str) else None
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
    parent = reply.get("parent") if reply and isinstance(reply.get("parent"), dict) else None
    parent_uri = parent.get("uri") if parent and isinstance(parent.get("uri"), str) else None
    text = clean_text(text)
    if not text:
        return None, None, "post has no text"
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    item = RawItem(
        source=source,
        platform="bluesky",
        external_id=uri,
        text=text,
        created_at=created,
        url=post_url(uri, handle),
        author=handle,
        kind="comment" if parent_uri else "post",
        parent_id=parent_uri,
        likes=to_int(post.get("likeCount")),
        shares=to_int(post.get("repostCount")) + to_int(post.get("quoteCount")),
        replies=to_int(post.get("replyCount")),
        extra={"langs": [x for x in langs if isinstance(x, str)][:5]} if langs else {},
    )
    return item, _key(indexed, uri), ""


class BlueskyCollector:
    """Bluesky search for a few queries, and lookup of stored posts by AT-URI."""

    platform = "bluesky"
    max_ids_per_call = LOOKUP_BATCH

    def __init__(self, name: str, settings: Settings, token: str | None) -> None:
        self.name = name
        self.settings = settings
        self._token = token
        self._pacer = Pacer(settings.min_request_interval)
        self.last_lookup_rate_limit: RateLimit = RateLimit()

    def __repr__(self) -> str:  # never show the token
        return f"BlueskyCollector(name={self.name!r})"

    def for_run(self, tracked: Sequence[str], calls_left: int | None) -> BlueskyCollector:
        """A copy that also searches ``tracked`` queries (rising incidents) this run."""
        run = copy.copy(self)
        run.settings = with_queries(self.settings, tracked)
        return run

    def _page(self, client: httpx.Client, query: str, token: Any | None, now: datetime) -> Page:
        params = {"q": query, "sort": "latest", "limit": str(self.settings.limit)}
        if self.settings.lang:
            params["lang"] = self.settings.lang
        if token:
            params["cursor"] = str(token)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._pacer.wait()
        fetched = safe_get(
            client,
            self.settings.base_url.rstrip("/") + "/xrpc/app.bsky.feed.searchPosts",
            source=self.name,
            now=now,
            params=params,
            headers=headers,
            limits=self.settings.limits(),
        )
        page = parse_search(fetched.json(), source=self.name, now=now)
        remaining = fetched.headers.get("ratelimit-remaining")
        if remaining and remaining.isascii() and remaining.isdigit():
            page.rate_limit = {"remaining": int(remaining)}
        return page

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New posts of every query since the last completed walk."""
        raw = cursor.get("queries")

        def stream(query: str) -> Callable[[Any | None], Page]:
            return lambda token: self._page(client, query, token, now)

        result = sweep_streams(
            dict(raw) if isinstance(raw, dict) else {},
            ((query, stream(query)) for query in self.settings.queries),
            max_pages=self.settings.max_pages,
            source=self.name,
        )
        return replace(result, cursor={"queries": result.cursor})

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh like/repost/reply/quote counts via ``app.bsky.feed.getPosts`` (up to 25 AT-URIs per call).

        Stored ids are the posts' ``at://`` URIs (what :func:`parse_search` stores). Deleted
        posts are simply absent from the answer. An id that is not a post URI is never sent:
        the server refuses the whole call (400) for one bad URI.
        """
        uris: list[str] = []
        for external_id in dict.fromkeys(external_ids):
            if is_post_uri(external_id):
                uris.append(external_id)
            else:
                log_rejected(self.name, external_id, "not an at:// post URI; cannot be looked up")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        readings: list[MetricsReading] = []
        calls = 0
        for start in range(0, len(uris), LOOKUP_BATCH):
            chunk = uris[start : start + LOOKUP_BATCH]
            self._pacer.wait()
            fetched = safe_get(
                client,
                self.settings.base_url.rstrip("/") + "/xrpc/app.bsky.feed.getPosts",
                source=self.name,
                now=now,
                params={"uris": chunk},
                headers=headers,
                limits=self.settings.limits(),
            )
            calls += 1
            limit = lookup_rate_limit(fetched.headers)
            if limit != RateLimit():
                self.last_lookup_rate_limit = limit
            readings.extend(parse_posts(fetched.json(), source=self.name, wanted=chunk))
        return readings, calls


def is_post_uri(value: str) -> bool:
    """Whether ``value`` is an ``at://<did-or-handle>/app.bsky.feed.post/<rkey>`` URI."""
    return bool(_POST_URI.match(value))


def parse_posts(data: Any, *, source: str, wanted: list[str]) -> list[MetricsReading]:
    """Readings from a ``getPosts`` body ``{"posts": [postView]}`` (pure).

    Counts follow :func:`parse_search`: shares are reposts plus quotes. Post views for
    URIs not in ``wanted`` and malformed entries are skipped; a body without a ``posts``
    list is a :class:`SourceError`.
    """
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise SourceError(
            f"source {source}: getPosts answer is not an object with a 'posts' list "
            f"(got {type(data).__name__}); the next run retries"
        )
    asked = set(wanted)
    readings: dict[str, MetricsReading] = {}
    for post in posts:
        uri = post.get("uri") if isinstance(post, dict) else None
        if not isinstance(post, dict) or not isinstance(uri, str) or uri not in asked:
            log_rejected(source, uri, "getPosts returned a post without a requested uri")
            continue
        readings[uri] = MetricsReading(
            external_id=uri,
            likes=to_int(post.get("likeCount")),
            shares=to_int(post.get("repostCount")) + to_int(post.get("quoteCount")),
            replies=to_int(post.get("replyCount")),
        )
    return list(readings.values())


def lookup_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """Bluesky's ``RateLimit-Limit/-Remaining/-Reset`` (reset in epoch seconds) as a :class:`RateLimit`."""

    def number(name: str) -> int | None:
        value = (headers.get(name) or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else None

    reset = number("ratelimit-reset")
    return RateLimit(
        limit=number("ratelimit-limit"),
        remaining=number("ratelimit-remaining"),
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None and reset < 10**11 else None,
    )


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> BlueskyCollector:
    """Build the collector for one configured Bluesky source."""
    parsed = validate_settings(Settings, name, settings)
    if not parsed.base_url.startswith(("http://", "https://")):
        raise ValueError(f"source {name}: settings.base_url: must start with https://")
    return BlueskyCollector(name, parsed, next((v for v in secrets.values() if v), None))
