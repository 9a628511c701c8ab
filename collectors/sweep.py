"""Polling a newest-first, backwards-paged stream without ever skipping items.

Bluesky search (``cursor``), Reddit listings (``after``) and Telegram channel pages
(``before``) all return the newest items first and page towards older ones. A run
walks back from the newest page until it reaches the *mark* (the newest item of the
last completed walk). If it has to stop early (``max_pages``, 429, 5xx) it stores where
it was as ``pending`` and the next run finishes that walk before the mark moves, so a
burst bigger than one run's pages is read completely, just later.

Cursor shape: ``{"mark": <key or null>, "pending": {"page": <token>, "top": <key>} | null}``.
Keys must compare correctly (strings of equal form or numbers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from collectors.base import FetchResult, JSONDict, RateLimited, RawItem, SourceError

log = logging.getLogger(__name__)


@dataclass
class Page:
    """One page as a collector parsed it: items newest first, each with its ordering key."""

    items: list[tuple[Any, RawItem]]
    next_token: Any | None
    rejected: int = 0
    rate_limit: JSONDict = field(default_factory=dict)


@dataclass
class SweepResult:
    items: list[RawItem]
    cursor: JSONDict
    rejected: int
    calls: int
    rate_limit: JSONDict
    error: SourceError | None = None


def sweep(
    cursor: JSONDict,
    fetch_page: Callable[[Any | None], Page],
    *,
    max_pages: int,
    source: str,
) -> SweepResult:
    """Walk pages from the newest (or the pending token) back to the mark; see the module docstring.

    ``fetch_page(token)`` raises :class:`SourceError` on failure. A failure before any
    page was read is re-raised; after that, what was read is returned with a
    ``pending`` cursor and the error in :attr:`SweepResult.error`.
    """
    mark = cursor.get("mark")
    pending = cursor.get("pending") if isinstance(cursor.get("pending"), dict) else None
    token: Any | None = pending.get("page") if pending else None
    top: Any | None = pending.get("top") if pending else None
    first_run = mark is None and pending is None
    items: list[RawItem] = []
    rejected = calls = 0
    rate: JSONDict = {}
    ids: set[str] = set()
    for page_no in range(max_pages):
        try:
            page = fetch_page(token)
        except SourceError as exc:
            if page_no == 0:
                raise
            log.warning("source %s: %s; keeping %d items read so far", source, exc, len(items))
            if exc.retry_after:
                rate["retry_after"] = exc.retry_after
            return SweepResult(items, _cursor(mark, token, top), rejected, calls, rate, exc)
        calls += 1
        rejected += page.rejected
        rate = page.rate_limit or rate
        reached = False
        fresh = 0
        for key, item in page.items:
            if mark is not None and key <= mark:
                reached = True
                continue
            if item.external_id in ids:
                continue
            ids.add(item.external_id)
            fresh += 1
            items.append(item)
            if top is None or key > top:
                top = key
        # A page with nothing unseen (a server repeating itself) ends the walk instead of looping. A page
        # whose every item the parser rejected (a run of photo-only messages) is not the end: older pages
        # newer than the mark still follow, and ending here moved the mark past them.
        empty = not page.items and not page.rejected
        stalled = (bool(page.items) and fresh == 0) or page.next_token == token
        if reached or page.next_token is None or first_run or empty or stalled:
            done: JSONDict = {"mark": top if top is not None else mark, "pending": None}
            return SweepResult(items, done, rejected, calls, rate)
        token = page.next_token
        if rate.get("remaining") == 0:
            break
    return SweepResult(items, _cursor(mark, token, top), rejected, calls, rate)


def _cursor(mark: Any, token: Any, top: Any) -> JSONDict:
    return {"mark": mark, "pending": {"page": token, "top": top}}


def marked(page: Page, query: str) -> Page:
    """``page`` with its items marked as fetched by a tracked incident query (``extra["tracked_query"]``)."""
    page.items = [(key, replace(item, extra={**item.extra, "tracked_query": query})) for key, item in page.items]
    return page


__all__ = ["Page", "RateLimited", "SweepResult", "marked", "sweep"]


def sweep_streams(
    cursors: JSONDict,
    streams: Iterable[tuple[str, Callable[[Any | None], Page]]],
    *,
    max_pages: int,
    source: str,
) -> FetchResult:
    """Sweep several streams of one source (queries, subreddits) and merge them into one result.

    ``cursors`` maps each stream key to its :func:`sweep` cursor; the returned cursor is the
    same mapping, updated. A failing stream keeps its old cursor and the others still run,
    except after a rate limit, which stops the run. The first error is raised only if no
    stream produced anything, so a partial run is never lost.
    """
    state = dict(cursors)
    items: list[RawItem] = []
    known: set[str] = set()
    rejected = calls = 0
    rate: JSONDict = {}
    error: SourceError | None = None
    for key, fetch_page in streams:
        old = cursors.get(key)
        try:
            result = sweep(old if isinstance(old, dict) else {}, fetch_page, max_pages=max_pages, source=source)
        except SourceError as exc:
            log.warning("source %s: %s failed: %s", source, key, exc)
            error = error or exc
            if isinstance(exc, RateLimited):
                break
            continue
        state[key] = result.cursor
        calls += result.calls
        rejected += result.rejected
        rate.update(result.rate_limit)
        for item in result.items:
            if item.external_id not in known:
                known.add(item.external_id)
                items.append(item)
        if result.error is not None:
            error = error or result.error
            if isinstance(result.error, RateLimited):
                break
    if error is not None and not items:
        raise error
    return FetchResult(items=items, cursor=state, rejected=rejected, calls=calls, rate_limit=rate)
