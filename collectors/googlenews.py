"""Google News search RSS (Indonesian edition) for configured queries.

Config (``kind: googlenews``)::

    - name: googlenews-oki
      kind: googlenews
      settings: {queries: ["\\"Ogan Komering Ilir\\"", "Kayuagung"]}

Each query is one feed: ``{base_url}/rss/search?q=<query>&hl=id&gl=ID&ceid=ID:id``.
Item titles read "Headline - Publisher"; the publisher comes from ``<source>`` (or
the title's last " - " part) and is kept in ``extra["outlet"]``; the link is Google's
redirect, kept as is (resolving it needs another request per item). The guid is the
dedupe key. There is no paging; the cursor keeps, per query, the conditional-GET
validators and the ids already seen. When Google answers with an HTML consent or
CAPTCHA page instead of XML, the run fails with a message saying so.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field, field_validator

from collectors.base import FetchResult, JSONDict, RateLimited, RawItem, SourceError
from collectors.common import CommonSettings, Pacer, clean_text, validate_settings
from collectors.http import safe_get
from collectors.queries import with_queries
from collectors.rss import FeedRejected, conditional_headers, parse_feed, remember, validators

log = logging.getLogger(__name__)


def _defaults() -> list[str]:
    from collectors.queries import default_queries

    return default_queries("googlenews")


class Settings(CommonSettings):
    """``settings:`` of a Google News source."""

    queries: list[str] = Field(default_factory=lambda: _defaults(), min_length=1, max_length=50)
    """Empty in config.yaml: the gazetteer's defaults (``oki-monitor queries --platform googlenews``)."""
    base_url: str = "https://news.google.com"
    hl: str = "id"
    gl: str = "ID"
    ceid: str = "ID:id"
    user_agent: str | None = Field(None, max_length=300)

    @field_validator("queries")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        cleaned = [q.strip() for q in value]
        if any(not q or len(q) > 500 for q in cleaned):
            raise ValueError("every query must be 1–500 characters")
        return cleaned


def split_title(title: str, outlet: str | None) -> tuple[str, str | None]:
    """("Headline", "Publisher") from Google's "Headline - Publisher" title."""
    if outlet and title.endswith(" - " + outlet):
        return title[: -len(outlet) - 3].strip(), outlet
    head, sep, tail = title.rpartition(" - ")
    if sep and head.strip() and 0 < len(tail) <= 80:
        return head.strip(), outlet or tail.strip()
    return title, outlet


def parse_googlenews(
    body: bytes, *, source: str, now: datetime, content_type: str = "application/xml"
) -> tuple[list[RawItem], int]:
    """Items of one Google News RSS document with headline and publisher resolved (pure).

    Raises :class:`FeedRejected` for an HTML (consent/CAPTCHA) page or a non-feed body.
    """
    head = body[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head:
        raise FeedRejected(
            f"source {source}: Google News answered with an HTML page (consent or CAPTCHA) instead of the feed; "
            "this usually means too many requests from this address — the next run retries later"
        )
    feed = parse_feed(body, source=source, now=now, content_type=content_type, platform="googlenews")
    items = []
    for item in feed.items:
        outlet = item.extra.get("outlet")
        headline, publisher = split_title(item.title or item.text, outlet if isinstance(outlet, str) else None)
        # The description only repeats headline + publisher (or a cluster of them): the headline is the text.
        text = item.text if len(item.text) > len(headline) + len(publisher or "") + 10 else headline
        extra = dict(item.extra)
        if publisher:
            extra["outlet"] = clean_text(publisher, 200)
        items.append(replace(item, title=headline, text=text, author=publisher or item.author, extra=extra))
    return items, feed.rejected


class GoogleNewsCollector:
    """Google News search feeds for a few queries."""

    platform = "googlenews"

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._pacer = Pacer(settings.min_request_interval)

    def for_run(self, tracked: Sequence[str], calls_left: int | None) -> GoogleNewsCollector:
        """A copy that also searches ``tracked`` queries (rising incidents) this run."""
        run = copy.copy(self)
        run.settings = with_queries(self.settings, tracked)
        return run

    def feed_url(self, query: str) -> tuple[str, dict[str, str]]:
        """The search feed address and its query parameters."""
        s = self.settings
        return s.base_url.rstrip("/") + "/rss/search", {"q": query, "hl": s.hl, "gl": s.gl, "ceid": s.ceid}

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Fetch every query's feed; a failing query keeps its state and the others still count."""
        raw_queries = cursor.get("queries")
        states: dict[str, Any] = dict(raw_queries) if isinstance(raw_queries, dict) else {}
        new_states: dict[str, Any] = {}
        items: list[RawItem] = []
        ids_this_run: set[str] = set()
        rejected = calls = 0
        errors: list[SourceError] = []
        not_modified = 0
        for query in self.settings.queries:
            state = states.get(query) if isinstance(states.get(query), dict) else {}
            assert isinstance(state, dict)
            url, params = self.feed_url(query)
            self._pacer.wait()
            try:
                fetched = safe_get(
                    client,
                    url,
                    source=self.name,
                    now=now,
                    params=params,
                    headers=conditional_headers(state, self.settings.user_agent),
                    limits=self.settings.limits(),
                )
                calls += 1
                if fetched.status == 304:
                    not_modified += 1
                    new_states[query] = state
                    continue
                found, bad = parse_googlenews(
                    fetched.body, source=self.name, now=now, content_type=fetched.headers.get("content-type", "")
                )
            except SourceError as exc:
                errors.append(exc)
                new_states[query] = state  # unchanged: nothing of this query was read
                log.warning("source %s: query %r failed: %s", self.name, query, exc)
                if isinstance(exc, RateLimited):
                    break  # asking again with the next query would only prolong the block
                continue
            rejected += bad
            raw_seen = state.get("seen")
            old_seen = [s for s in raw_seen if isinstance(s, str)] if isinstance(raw_seen, list) else []
            known = set(old_seen)
            for item in found:
                # The same story often matches several queries: send it once.
                if item.external_id not in known and item.external_id not in ids_this_run:
                    items.append(replace(item, extra={**item.extra, "query": query}))
                    ids_this_run.add(item.external_id)
            seen = remember(old_seen, (i.external_id for i in found))
            new_states[query] = {**validators(fetched.headers), "seen": seen}
        for query in self.settings.queries:
            new_states.setdefault(query, states.get(query) if isinstance(states.get(query), dict) else {})
        if errors and not items:
            raise _worst(errors)
        limited = [e.retry_after for e in errors if isinstance(e, RateLimited) and e.retry_after]
        return FetchResult(
            items=items,
            cursor={"queries": new_states},
            not_modified=not_modified == len(self.settings.queries),
            rejected=rejected,
            calls=calls,
            rate_limit={"retry_after": max(limited)} if limited else {},
        )


def _worst(errors: list[SourceError]) -> SourceError:
    # The one with the longest requested wait decides the backoff.
    return max(errors, key=lambda e: e.retry_after or 0.0)


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> GoogleNewsCollector:
    """Build the collector for one configured Google News source."""
    return GoogleNewsCollector(name, validate_settings(Settings, name, settings))


__all__ = ["FeedRejected", "GoogleNewsCollector", "Settings", "create", "parse_googlenews", "split_title"]
