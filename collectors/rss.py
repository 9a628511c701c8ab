"""RSS 2.0 / Atom feeds of news portals, fetched with conditional GET and parsed safely.

Config (``kind: rss``)::

    - name: antara-sumsel
      kind: rss
      settings: {url: "https://sumsel.antaranews.com/rss/terkini.xml", verified: false}

``verified`` records whether someone checked the feed address live; it only changes
the log line. The cursor holds ``etag`` / ``last_modified`` (so an unchanged feed
costs one 304 and no parsing), ``seen`` (ids of the most recent items, so a feed that
always lists its last 50 stories does not re-send them) and ``bozo_streak`` (how many
fetches in a row the feed was malformed; the dashboard can flag a long streak).

Feeds are untrusted: bytes are fetched with :func:`collectors.http.safe_get` (size cap,
deadline) and handed to feedparser as bytes, never as a URL or path. A document that
declares entities or an internal DTD subset is rejected before feedparser sees it,
because feedparser's loose fallback parser expands plain-text entities without limit
(an 80 KB feed can become a 400-million-character title).
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
from pydantic import Field, field_validator

from collectors.base import FetchResult, JSONDict, RawItem, SourceError
from collectors.common import (
    CommonSettings,
    Pacer,
    clean_text,
    html_to_text,
    log_rejected,
    note,
    time_problem,
    validate_settings,
)
from collectors.http import safe_get

log = logging.getLogger(__name__)

SEEN_KEEP = 500
"""How many recent item ids the cursor remembers (a feed rarely lists more than 100)."""
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DANGEROUS_PROLOG = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


class FeedRejected(SourceError):
    """The document is not a feed we are willing to parse (entities, HTML page, garbage)."""


class Settings(CommonSettings):
    """``settings:`` of an RSS/Atom source."""

    url: str = Field(min_length=8, max_length=2000)
    verified: bool = False
    """Whether the feed address was checked live (the shipped list marks guesses as false)."""
    user_agent: str | None = Field(None, max_length=300)
    max_items: int = Field(200, ge=1, le=5000)
    """Items taken from one feed document at most."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address of the feed")
        return value


@dataclass
class ParsedFeed:
    """What one feed document yielded."""

    items: list[RawItem] = field(default_factory=list)
    rejected: int = 0
    dropped: int = 0
    """Items beyond ``max_items`` (not read; reported, not counted as rejected)."""
    bozo: bool = False
    bozo_reason: str | None = None
    title: str | None = None


def check_prolog(body: bytes, source: str) -> None:
    """Raise :class:`FeedRejected` if the document declares entities or an internal DTD subset.

    Only the prolog (everything before the first element) can declare them, so only
    that is scanned. NUL bytes are dropped first so a UTF-16 document cannot hide a
    declaration from the byte pattern.
    """
    head = body.replace(b"\x00", b"")
    match = _FIRST_ELEMENT.search(head)
    prolog = head[: match.start()] if match else head
    if _DANGEROUS_PROLOG.search(prolog):
        raise FeedRejected(
            f"source {source}: rejected: xml-entities — the feed declares XML entities or an internal DTD, "
            "which could expand into gigabytes; not parsed. Tell the publisher or remove the source."
        )


def struct_to_datetime(value: Any) -> datetime | None:
    """feedparser's UTC ``time.struct_time`` as an aware datetime (None if absent or impossible)."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def updated(entry: Mapping[str, Any], key: str = "updated") -> Any:
    """The entry's own ``updated``/``updated_parsed``, or None.

    Asked for a missing one, feedparser hands back ``published`` instead with a DeprecationWarning
    (its issue 310 fallback, due to be removed); ``in`` checks the entry itself.
    """
    return entry[key] if key in entry else None  # noqa: SIM401 - get() is the call that maps and warns


def entry_id(entry: Mapping[str, Any]) -> str | None:
    """The item's own id: guid/id, else its link, else a hash of title and date (stable across fetches)."""
    for key in ("id", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    title = entry.get("title")
    if isinstance(title, str) and title.strip():
        stamp = str(entry.get("published") or updated(entry) or "")
        return "sha1:" + hashlib.sha1(f"{title}|{stamp}".encode(), usedforsecurity=False).hexdigest()
    return None


def entry_text(entry: Mapping[str, Any]) -> str:
    """The entry's body as plain text: the longest of content/summary, HTML stripped."""
    candidates: list[str] = []
    for content in entry.get("content") or []:
        if isinstance(content, Mapping) and isinstance(content.get("value"), str):
            candidates.append(content["value"])
    summary = entry.get("summary")
    if isinstance(summary, str):
        candidates.append(summary)
    texts = [html_to_text(c) for c in candidates]
    return max(texts, key=len, default="")


def parse_feed(
    body: bytes,
    *,
    source: str,
    now: datetime,
    content_type: str = "application/xml",
    platform: str = "rss",
    max_items: int = 200,
) -> ParsedFeed:
    """Parse one RSS/Atom document into news :class:`RawItem` values (pure).

    Raises :class:`FeedRejected` for entity declarations and for documents that are not
    feeds at all (an HTML error or consent page). Items with no id, no text or an
    impossible date are skipped, counted and logged; duplicates of an id are dropped.
    """
    check_prolog(body, source)
    parsed = feedparser.parse(body, response_headers={"content-type": content_type or "application/xml"})
    bozo = bool(parsed.get("bozo"))
    reason = str(parsed.get("bozo_exception", ""))[:200] or None if bozo else None
    if not parsed.get("version") and not parsed.get("entries"):
        kind = "an HTML page" if b"<html" in body[:2048].lower() else "not RSS or Atom"
        raise FeedRejected(
            f"source {source}: the response is {kind}, not a news feed"
            f"{' (' + reason + ')' if reason else ''}; check the feed address — the next run retries"
        )
    out = ParsedFeed(bozo=bozo, bozo_reason=reason, title=_str(parsed.get("feed", {}).get("title")))
    seen: set[str] = set()
    entries = list(parsed.get("entries") or [])
    if len(entries) > max_items:
        out.dropped = len(entries) - max_items
        message = (
            f"feed lists {len(entries)} items, only the first max_items={max_items} are read; "
            f"{out.dropped} dropped (raise settings.max_items if they matter)"
        )
        log.warning("source %s: %s", source, message)
        note(message)
    for entry in entries[:max_items]:
        item = _entry_item(entry, source=source, platform=platform, now=now, out=out)
        if item is None:
            continue
        if item.external_id in seen:
            out.rejected += 1
            log_rejected(source, item.external_id, "duplicate id within one feed document")
            continue
        seen.add(item.external_id)
        out.items.append(item)
    return out


def _str(value: Any) -> str | None:
    return clean_text(value, 500) or None if isinstance(value, str) else None


def _entry_item(
    entry: Mapping[str, Any], *, source: str, platform: str, now: datetime, out: ParsedFeed
) -> RawItem | None:
    ext = entry_id(entry)
    if ext is None:
        out.rejected += 1
        log_rejected(source, "?", "feed item without id, link or title")
        return None
    title = html_to_text(entry["title"], 1000) if isinstance(entry.get("title"), str) else None
    body = entry_text(entry)
    text = body or (title or "")
    if not text:
        out.rejected += 1
        log_rejected(source, ext, "feed item without title or text")
        return None
    created = struct_to_datetime(entry.get("published_parsed")) or struct_to_datetime(updated(entry, "updated_parsed"))
    extra: dict[str, Any] = {}
    if created is None:
        if not body:
            # Neither date nor description: a truncated document (cut off mid-item), not a real story;
            # stored, it would carry the fetch time as its date and its link as its only identity.
            out.rejected += 1
            log_rejected(source, ext, "feed item without date and without description (truncated feed?)")
            return None
        # Undated items with a body are common on small portals; first sight is the best estimate.
        created = now
        extra["date_missing"] = True
    problem = time_problem(created, now)
    if problem:
        out.rejected += 1
        log_rejected(source, ext, problem)
        return None
    link = entry.get("link")
    url = link.strip() if isinstance(link, str) and link.strip().startswith(("http://", "https://")) else None
    outlet = entry.get("source")
    if isinstance(outlet, Mapping) and isinstance(outlet.get("title"), str):
        extra["outlet"] = clean_text(outlet["title"], 200)
        if isinstance(outlet.get("href"), str):
            extra["outlet_url"] = outlet["href"][:500]
    author = _str(entry.get("author"))
    return RawItem(
        source=source,
        platform=platform,
        external_id=ext,
        text=text,
        created_at=created,
        url=url,
        author=author,
        title=title,
        kind="news",
        extra=extra,
    )


def conditional_headers(state: Mapping[str, Any], user_agent: str | None = None) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` from a stored validator pair."""
    headers: dict[str, str] = {}
    if isinstance(state.get("etag"), str):
        headers["If-None-Match"] = state["etag"]
    if isinstance(state.get("last_modified"), str):
        headers["If-Modified-Since"] = state["last_modified"]
    if user_agent:
        headers["User-Agent"] = user_agent
    return headers


def validators(headers: httpx.Headers) -> JSONDict:
    """The ETag / Last-Modified pair to send next time (only the ones present)."""
    out: JSONDict = {}
    if headers.get("etag"):
        out["etag"] = headers["etag"][:300]
    if headers.get("last-modified"):
        out["last_modified"] = headers["last-modified"][:100]
    return out


def remember(seen: Iterable[str], new: Iterable[str], keep: int = SEEN_KEEP) -> list[str]:
    """The most recent ``keep`` ids, newest last, without repeats."""
    merged = [i for i in seen if isinstance(i, str)]
    present = set(merged)
    for ext in new:
        if ext not in present:
            merged.append(ext)
            present.add(ext)
    return merged[-keep:]


class RssCollector:
    """One news portal's RSS/Atom feed."""

    platform = "rss"

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._pacer = Pacer(settings.min_request_interval)

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Fetch the feed unless unchanged (304); return items not seen in earlier runs."""
        self._pacer.wait()
        fetched = safe_get(
            client,
            self.settings.url,
            source=self.name,
            now=now,
            headers=conditional_headers(cursor, self.settings.user_agent),
            limits=self.settings.limits(),
        )
        if fetched.status == 304:
            return FetchResult(items=[], cursor=dict(cursor), not_modified=True, calls=1)
        feed = parse_feed(
            fetched.body,
            source=self.name,
            now=now,
            content_type=fetched.headers.get("content-type", ""),
            max_items=self.settings.max_items,
        )
        bozo_streak = int(cursor.get("bozo_streak", 0) or 0) + 1 if feed.bozo else 0
        if feed.bozo:
            log.info("source %s: feed is not well-formed (%s); parsed leniently", self.name, feed.bozo_reason)
        if not self.settings.verified and not cursor:
            log.info("source %s: feed address %s is not marked verified; it answered", self.name, self.settings.url)
        raw_seen = cursor.get("seen")
        old_seen = [s for s in raw_seen if isinstance(s, str)] if isinstance(raw_seen, list) else []
        known = set(old_seen)
        fresh = [i for i in feed.items if i.external_id not in known]
        new_cursor: JSONDict = {
            **validators(fetched.headers),
            "seen": remember(old_seen, (i.external_id for i in feed.items)),
            "bozo_streak": bozo_streak,
        }
        return FetchResult(items=fresh, cursor=new_cursor, rejected=feed.rejected, calls=1)


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> RssCollector:
    """Build the collector for one configured RSS/Atom source."""
    return RssCollector(name, validate_settings(Settings, name, settings))
