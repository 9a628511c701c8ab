"""Reddit search JSON for configured subreddits and queries, paged with ``after``.

Config (``kind: reddit``)::

    - name: reddit-indonesia
      kind: reddit
      settings:
        subreddits: [indonesia, palembang]
        queries: ["Kayuagung"]
        user_agent: "oki-viral-monitor/0.1 (by Diskominfo OKI; contact ...)"

Wire format: a ``Listing`` (``{"kind": "Listing", "data": {"after", "children": [{"kind":
"t3", "data": {...}}]}}``) from ``/r/<sub>/search.json?q=&restrict_sr=1&sort=new``.
Reddit requires a unique, descriptive User-Agent (default agents are heavily limited),
so ``user_agent`` is mandatory. Reddit sometimes sends its 429 body
(``{"message": "Too Many Requests", "error": 429}``) with HTTP 200: that is treated as a
429. Each (subreddit, query) pair is walked newest-first back to the last post seen
(:mod:`collectors.sweep`).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, field_validator

from collectors.base import FetchResult, JSONDict, MetricsReading, RateLimited, RawItem, SourceError
from collectors.budget import RateLimit
from collectors.common import (
    CommonSettings,
    Pacer,
    clean_text,
    keep_parsed,
    log_rejected,
    time_problem,
    to_int,
    validate_settings,
)
from collectors.http import safe_get
from collectors.queries import with_queries
from collectors.sweep import Page, marked, sweep_streams

log = logging.getLogger(__name__)

LOOKUP_BATCH = 100
"""Fullnames per ``/api/info`` call (Reddit's documented maximum)."""


def _defaults() -> list[str]:
    from collectors.queries import default_queries

    return default_queries("reddit")


class Settings(CommonSettings):
    """``settings:`` of a Reddit source."""

    base_url: str = "https://www.reddit.com"
    subreddits: list[str] = Field(default_factory=list, max_length=20)
    """Empty means site-wide search."""
    queries: list[str] = Field(default_factory=lambda: _defaults(), min_length=1, max_length=20)
    """Empty in config.yaml: the gazetteer's defaults (``oki-monitor queries --platform reddit``)."""
    user_agent: str = Field(min_length=10, max_length=300)
    limit: int = Field(100, ge=1, le=100)
    min_request_interval: float = Field(6.0, ge=0, le=600)
    """Unauthenticated clients get about 10 requests a minute."""

    @field_validator("user_agent")
    @classmethod
    def _descriptive(cls, value: str) -> str:
        if value.lower().startswith(("python", "httpx", "curl", "mozilla")):
            raise ValueError("must describe this app and a contact, e.g. 'oki-viral-monitor/0.1 (by Diskominfo OKI)'")
        return value


def parse_listing(data: Any, *, source: str, now: datetime) -> Page:
    """A search Listing as a :class:`~collectors.sweep.Page`, keyed by (created time, fullname) (pure)."""
    if isinstance(data, dict) and data.get("error") == 429:
        raise RateLimited(f"source {source}: Reddit says Too Many Requests (in a 200 answer); pausing", retry_after=600)
    if not isinstance(data, dict) or data.get("kind") != "Listing" or not isinstance(data.get("data"), dict):
        raise SourceError(
            f"source {source}: Reddit's answer is not a Listing (got {type(data).__name__}); the next run retries"
        )
    listing = data["data"]
    children = listing.get("children")
    if not isinstance(children, list):
        raise SourceError(f"source {source}: Listing has no children list; the next run retries")

    def post_of(child: Any) -> Any:
        return child.get("data") if isinstance(child, dict) and child.get("kind") == "t3" else None

    def name_of(child: Any) -> object:
        post = post_of(child)
        return post.get("name") if isinstance(post, dict) else None

    items, rejected = keep_parsed(
        children,
        lambda child: _post(post_of(child), source=source, now=now),
        name_of,
        source=source,
        what="post",
    )
    after = listing.get("after")
    return Page(items, after if isinstance(after, str) and after else None, rejected)


def _post(post: Any, *, source: str, now: datetime) -> tuple[RawItem | None, str | None, str]:
    if not isinstance(post, dict):
        return None, None, "child is not a t3 post"
    name = post.get("name")
    if not isinstance(name, str) or not name.startswith("t3_") or len(name) > 40:
        return None, None, "post without a t3_ fullname"
    stamp = post.get("created_utc")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not (0 <= stamp < 1e11):
        return None, None, f"created_utc {str(stamp)[:30]!r} is not epoch seconds"
    created = datetime.fromtimestamp(float(stamp), UTC)
    problem = time_problem(created, now)
    if problem:
        return None, None, problem
    title = clean_text(post["title"], 1000) if isinstance(post.get("title"), str) else ""
    body = clean_text(post["selftext"]) if isinstance(post.get("selftext"), str) else ""
    text = f"{title}\n\n{body}".strip() if body else title
    if not text:
        return None, None, "post has no title or text"
    permalink = post.get("permalink")
    url = f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None
    author = post.get("author") if isinstance(post.get("author"), str) else None
    sub = post.get("subreddit")
    item = RawItem(
        source=source,
        platform="reddit",
        external_id=name,
        text=text,
        title=title or None,
        created_at=created,
        url=url,
        author=author,
        likes=to_int(post.get("ups") if post.get("ups") is not None else post.get("score")),
        replies=to_int(post.get("num_comments")),
        extra={"subreddit": sub} if isinstance(sub, str) else {},
    )
    return item, f"{created.strftime('%Y-%m-%dT%H:%M:%S')}|{name}", ""


class RedditCollector:
    """Reddit search over a few subreddits, and lookup of stored posts by fullname."""

    platform = "reddit"
    max_ids_per_call = LOOKUP_BATCH

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._pacer = Pacer(settings.min_request_interval)
        self.last_lookup_rate_limit: RateLimit = RateLimit()
        self.tracked: frozenset[str] = frozenset()
        """Queries following rising incidents in this run's copy; their posts are marked."""

    def for_run(self, tracked: Sequence[str], calls_left: int | None) -> RedditCollector:
        """A copy that also searches ``tracked`` queries (rising incidents) this run."""
        run = copy.copy(self)
        run.settings = with_queries(self.settings, tracked)
        run.tracked = frozenset(tracked) - set(self.settings.queries)
        return run

    def _streams(self) -> list[tuple[str, str, dict[str, str]]]:
        base = self.settings.base_url.rstrip("/")
        out = []
        for query in self.settings.queries:
            params = {"q": query, "sort": "new", "t": "week", "limit": str(self.settings.limit), "raw_json": "1"}
            if not self.settings.subreddits:
                out.append((f"all:{query}", f"{base}/search.json", params))
            for sub in self.settings.subreddits:
                out.append((f"{sub}:{query}", f"{base}/r/{sub}/search.json", {**params, "restrict_sr": "1"}))
        return out

    def _page(self, client: httpx.Client, url: str, params: dict[str, str], after: Any, now: datetime) -> Page:
        self._pacer.wait()
        fetched = safe_get(
            client,
            url,
            source=self.name,
            now=now,
            params={**params, **({"after": str(after)} if after else {})},
            headers={"User-Agent": self.settings.user_agent},
            limits=self.settings.limits(),
        )
        page = parse_listing(fetched.json(), source=self.name, now=now)
        remaining = fetched.headers.get("x-ratelimit-remaining", "")
        # Reddit sends it as a float ("598.0"); a long digit string would make float() infinite.
        if len(remaining) <= 15 and remaining.isascii() and remaining.replace(".", "", 1).isdigit():
            page.rate_limit = {"remaining": int(float(remaining))}
        return page

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New posts of every (subreddit, query) pair since the last completed walk."""
        raw = cursor.get("streams")

        def stream(url: str, params: dict[str, str]) -> Callable[[Any | None], Page]:
            query = params["q"]
            if query in self.tracked:
                return lambda after: marked(self._page(client, url, params, after, now), query)
            return lambda after: self._page(client, url, params, after, now)

        result = sweep_streams(
            dict(raw) if isinstance(raw, dict) else {},
            ((key, stream(url, params)) for key, url, params in self._streams()),
            max_pages=self.settings.max_pages,
            source=self.name,
        )
        return replace(result, cursor={"streams": result.cursor})

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh score and comment counts via ``/api/info.json?id=<fullnames>`` (up to 100 per call).

        Stored ids may be fullnames (``t3_abc``, what :func:`parse_listing` stores) or bare
        post ids (``abc``, e.g. from an import); readings come back under the id as stored.
        Removed or private things are simply absent from the Listing.
        """
        by_fullname: dict[str, list[str]] = {}
        for external_id in external_ids:
            name = to_fullname(external_id)
            if name is None:
                log_rejected(self.name, external_id, "not a Reddit id or fullname; cannot be looked up")
                continue
            by_fullname.setdefault(name, []).append(external_id)
        names = list(by_fullname)
        readings: list[MetricsReading] = []
        calls = 0
        for start in range(0, len(names), LOOKUP_BATCH):
            chunk = names[start : start + LOOKUP_BATCH]
            self._pacer.wait()
            fetched = safe_get(
                client,
                self.settings.base_url.rstrip("/") + "/api/info.json",
                source=self.name,
                now=now,
                params={"id": ",".join(chunk), "raw_json": "1"},
                headers={"User-Agent": self.settings.user_agent},
                limits=self.settings.limits(),
            )
            calls += 1
            limit = lookup_rate_limit(fetched.headers, now)
            if limit != RateLimit():
                self.last_lookup_rate_limit = limit
            for reading in parse_info(fetched.json(), source=self.name, wanted=chunk):
                for stored_id in by_fullname[reading.external_id]:
                    readings.append(
                        MetricsReading(stored_id, likes=reading.likes, shares=reading.shares, replies=reading.replies)
                    )
        return readings, calls


_BARE_ID = re.compile(r"^[0-9a-z]{1,13}$")
_FULLNAME = re.compile(r"^t[1-6]_[0-9a-z]{1,13}$")


def to_fullname(external_id: str) -> str | None:
    """The fullname to ask ``/api/info`` for: ``t3_abc`` stays, a bare ``abc`` is taken as a post (``t3_``).

    Returns None for anything else, which must not be sent (a stray comma or space
    would change what the whole call asks for).
    """
    value = external_id.strip().lower()
    if _FULLNAME.match(value):
        return value
    if _BARE_ID.match(value):
        return f"t3_{value}"
    return None


def parse_info(data: Any, *, source: str, wanted: list[str]) -> list[MetricsReading]:
    """Readings (keyed by fullname) from an ``/api/info`` Listing (pure).

    A post (``t3``) gives ``ups`` (else ``score``) and ``num_comments``; a comment
    (``t1``) gives its score only. Things not in ``wanted`` and malformed children are
    skipped; a body that is not a Listing is a :class:`SourceError`, and Reddit's 429
    body sent with HTTP 200 is a :class:`RateLimited`.
    """
    if isinstance(data, dict) and data.get("error") == 429:
        raise RateLimited(f"source {source}: Reddit says Too Many Requests (in a 200 answer); pausing", retry_after=600)
    listing = data.get("data") if isinstance(data, dict) and data.get("kind") == "Listing" else None
    children = listing.get("children") if isinstance(listing, dict) else None
    if not isinstance(children, list):
        raise SourceError(
            f"source {source}: Reddit's /api/info answer is not a Listing with children "
            f"(got {type(data).__name__}); the next run retries"
        )
    asked = set(wanted)
    readings: dict[str, MetricsReading] = {}
    for child in children:
        thing = child.get("data") if isinstance(child, dict) else None
        name = thing.get("name") if isinstance(thing, dict) else None
        if not isinstance(thing, dict) or not isinstance(name, str) or name not in asked:
            log_rejected(source, name, "lookup returned a thing without a requested fullname")
            continue
        likes = thing.get("ups") if thing.get("ups") is not None else thing.get("score")
        readings[name] = MetricsReading(
            external_id=name, likes=to_int(likes), replies=to_int(thing.get("num_comments"))
        )
    return list(readings.values())


def lookup_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimit:
    """Reddit's ``X-Ratelimit-Remaining`` (a float) and ``-Reset`` (seconds from now) as a :class:`RateLimit`."""
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    used = _number(headers.get("x-ratelimit-used"))
    return RateLimit(
        limit=int(remaining + used) if remaining is not None and used is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_at=now + timedelta(seconds=reset) if reset is not None else None,
    )


def _number(value: str | None) -> float | None:
    if not value or len(value) > 20:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number < 1e9 else None


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> RedditCollector:
    """Build the collector for one configured Reddit source."""
    parsed = validate_settings(Settings, name, settings)
    if not parsed.base_url.startswith(("http://", "https://")):
        raise ValueError(f"source {name}: settings.base_url: must start with https://")
    return RedditCollector(name, parsed)
