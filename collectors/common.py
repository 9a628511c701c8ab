"""Pieces every open-source collector shares: settings for limits, pacing, time checks and HTML-to-text.

All pure except :class:`Pacer` (which sleeps, with an injectable clock).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collectors.base import RawItem
from collectors.http import DEFAULT_DEADLINE, DEFAULT_MAX_BYTES, FetchLimits

log = logging.getLogger("collectors")

S = TypeVar("S", bound=BaseModel)

OLDEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Anything older is a broken timestamp (epoch 0, a parser default), not a real post."""
FUTURE_SLACK = timedelta(days=1)
"""Clock skew and time-zone mistakes tolerated before a future timestamp counts as broken."""


class CommonSettings(BaseModel):
    """Settings every open-source collector accepts in its ``settings:`` block."""

    model_config = ConfigDict(extra="forbid")

    max_pages: int = Field(3, ge=1, le=50)
    """Pages fetched per run at most; the rest is picked up next run."""
    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1024, le=200 * 1024 * 1024)
    """Largest response body accepted (after decompression)."""
    deadline_seconds: float = Field(DEFAULT_DEADLINE, gt=0, le=600)
    """Total time allowed for one HTTP fetch, however slowly the server drips."""
    min_request_interval: float = Field(1.0, ge=0, le=600)
    """Seconds kept between two requests of this source (politeness; per-source rate limit)."""
    allow_private_redirects: bool = False
    """Only for tests and the offline demo: allow redirects into 127.0.0.1 / private networks."""

    def limits(self) -> FetchLimits:
        """The :class:`FetchLimits` these settings describe."""
        return FetchLimits(
            max_bytes=self.max_bytes, deadline=self.deadline_seconds, allow_private=self.allow_private_redirects
        )


def validate_settings(model: type[S], name: str, settings: Any) -> S:
    """``settings`` validated against ``model``; a :class:`ValueError` naming the source and field otherwise."""
    try:
        return model.model_validate(dict(settings or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(settings)"
        raise ValueError(f"source {name}: settings.{loc}: {err['msg']}") from None


class Pacer:
    """Keeps at least ``interval`` seconds between consecutive requests of one source."""

    def __init__(
        self,
        interval: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None

    def wait(self) -> None:
        """Sleep just long enough; the first request of a process goes at once."""
        if self.interval > 0 and self._last is not None:
            gap = self._last + self.interval - self._clock()
            if gap > 0:
                self._sleep(gap)
        self._last = self._clock()


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken to be UTC already (what most APIs mean)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as aware UTC, or None if ``value`` is not one."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    # Python before 3.11 disliked >6 fractional digits; 3.11 accepts most, but trim to be safe.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def time_problem(created: datetime, now: datetime) -> str | None:
    """Why ``created`` cannot be a real publication time (far future, before 2000), or None if fine."""
    if created > now + FUTURE_SLACK:
        return f"timestamp {created.isoformat()} is in the future"
    if created < OLDEST:
        return f"timestamp {created.isoformat()} is before 2000"
    return None


MAX_COUNT = 10**12
"""Largest engagement count (likes, shares, replies, views) any item may carry.

The one bound for every count, at every edge: collectors, ``import``, the push API and
tracking readings. No real post has 10^12 of anything (that is a hundred times the world's
population), so a larger count means the record is corrupt or hostile. Such an item is
*rejected with its reason*, not clamped: a count clamped to 10^12 would still look
"viral" and make the monitor alert on a lie. Negative counts (a platform's "hidden" or
a score below zero) read as 0, as before.
"""
OUT_OF_RANGE = MAX_COUNT + 1
"""What :func:`to_int` returns for a count above :data:`MAX_COUNT`; ingest rejects the item."""


def followers_extra(value: Any) -> dict[str, int]:
    """``{"followers": n}`` for an account's follower count as a source reported it; ``{}`` when missing or absurd.

    The count is the posting account's reach, a leading sign of a spreading issue (classifiers.virality).
    """
    if value is None:
        return {}
    count = to_int(value)
    return {"followers": count} if count < OUT_OF_RANGE else {}


def to_int(value: Any) -> int:
    """A count from a JSON number or numeric string, always in ``[0, OUT_OF_RANGE]``.

    Missing, non-numeric or negative values count as 0; a value above :data:`MAX_COUNT`
    (an integer of any size, a huge float or infinity, a long digit string) comes back as
    :data:`OUT_OF_RANGE`, so the item is rejected by :func:`count_problem` at ingest
    instead of reaching the database (where 10^30 raised OverflowError and lost the batch).
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return min(max(value, 0), OUT_OF_RANGE)
    if isinstance(value, float):
        if value != value or value <= 0:
            return 0
        return OUT_OF_RANGE if value > MAX_COUNT else int(value)
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit():
            # No int() of a long string: beyond 13 digits it is out of range anyway.
            return int(digits) if len(digits) <= 13 and int(digits) <= MAX_COUNT else OUT_OF_RANGE
    return 0


def add_counts(*counts: int) -> int:
    """The sum of counts read by :func:`to_int` (reposts plus quotes), bounded the same way.

    Two counts near 10^12 must not sum past :data:`OUT_OF_RANGE`: an item promises every count in
    ``[0, OUT_OF_RANGE]``, and anything above :data:`MAX_COUNT` is already the out-of-range marker.
    """
    return min(sum(counts), OUT_OF_RANGE)


def count_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be stored as the count ``name``, or None if it is an int in ``[0, MAX_COUNT]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} is not an integer"
    if value < 0:
        return f"{name} is negative"
    if value > MAX_COUNT:
        return f"{name} is larger than 10^12 (an impossible count: the record is corrupt)"
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")
_BLOCK = {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "section"}


def clean_text(text: str, limit: int = 20_000) -> str:
    """Plain text tidied: NFC, no control characters, single spaces, at most two line breaks in a row."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()[:limit]


def html_to_text(html: str, limit: int = 20_000) -> str:
    """Visible text of an HTML fragment: ``<br>`` and block ends become line breaks; scripts dropped.

    Uses a real HTML parser (html.parser via BeautifulSoup), never regexes, so broken
    markup degrades to text instead of leaking tags.
    """
    if "<" not in html and "&" not in html:
        return clean_text(html, limit)
    soup = BeautifulSoup(html[: limit * 10], "html.parser")
    for bad in soup.find_all(["script", "style", "noscript", "template", "iframe", "object"]):
        bad.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCK):
        if isinstance(block, Tag):
            block.append("\n")
    return clean_text(soup.get_text(), limit)


MAX_NOTES = 20
"""Reasons kept per run for source health; the log has more (see :data:`MAX_LOGGED`)."""
MAX_LOGGED = 200
"""Skipped items logged one by one per run; past that one summary line per source gives the count.
A hostile page of 90,000 junk entries would otherwise write 90,000 warnings (13 MB of log) every
run and spend most of the run formatting them; the source's health counts every one."""


@dataclass
class _Capture:
    """What one :func:`collecting_notes` block has gathered."""

    notes: list[str]
    logged: int = 0
    unlogged: dict[str, int] = field(default_factory=dict)
    """Skipped items past :data:`MAX_LOGGED`, per source."""


_CAPTURE: ContextVar[_Capture | None] = ContextVar("collector_notes", default=None)


@contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """Collect the reasons of items skipped (and items dropped) while the block runs, for source health.

    Every collector reports a skipped item through :func:`log_rejected`, so one capture
    around ``collector.fetch`` sees them all without each collector passing reasons back.
    Inside a capture the first :data:`MAX_LOGGED` skipped items are logged one by one and
    the rest as one count per source when the block ends.
    """
    capture = _Capture([])
    token = _CAPTURE.set(capture)
    try:
        yield capture.notes
    finally:
        _CAPTURE.reset(token)
        for source, count in capture.unlogged.items():
            log.warning(
                "source %s: %d more items skipped in this run, not logged one by one (the first %d were)",
                source,
                count,
                MAX_LOGGED,
            )


def note(message: str) -> None:
    """Add one line to the running capture of :func:`collecting_notes` (no-op outside one)."""
    capture = _CAPTURE.get()
    if capture is not None and len(capture.notes) < MAX_NOTES:
        capture.notes.append(message[:300])


def log_rejected(source: str, item_id: object, reason: str) -> None:
    """Log one skipped item in a way an operator can grep for (and note it for source health)."""
    capture = _CAPTURE.get()
    if capture is None or capture.logged < MAX_LOGGED:
        if capture is not None:
            capture.logged += 1
        log.warning("source %s: item %.80r skipped: %s", source, str(item_id), reason)
    else:
        capture.unlogged[source] = capture.unlogged.get(source, 0) + 1
    if capture is not None and len(capture.notes) < MAX_NOTES:
        capture.notes.append(f"item {str(item_id)[:80]!r}: {reason}"[:300])


ParsedEntry = tuple[RawItem | None, Any, str]


def keep_parsed(
    entries: Iterable[Any],
    parse: Callable[[Any], ParsedEntry],
    raw_id: Callable[[Any], object],
    *,
    source: str,
    what: str,
) -> tuple[list[tuple[Any, RawItem]], int]:
    """Parse the entries of one page: bad or repeated ones are logged and counted, the rest kept in order.

    ``parse`` returns ``(item, sort key, problem)``; an entry without item or key is rejected with ``problem``.
    """
    items: list[tuple[Any, RawItem]] = []
    rejected = 0
    seen: set[str] = set()
    for entry in entries:
        item, key, problem = parse(entry)
        if item is None or key is None:
            rejected += 1
            log_rejected(source, raw_id(entry), problem)
            continue
        if item.external_id in seen:
            rejected += 1
            log_rejected(source, item.external_id, f"duplicate {what} within one page")
            continue
        seen.add(item.external_id)
        items.append((key, item))
    return items, rejected
