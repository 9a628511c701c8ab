"""Public Telegram channels through their web preview, ``https://t.me/s/<channel>``.

Config (``kind: telegram_channel``)::

    - name: telegram-infooki
      kind: telegram_channel
      settings: {channel: infooki}

There is no official documentation of this page; the structure below is the one
independent scrapers agree on (see tests/fixtures/telegram_channel/README.md): each
message is a ``div.tgme_widget_message`` with ``data-post="<channel>/<id>"``, its text
in a *direct* ``div.tgme_widget_message_text`` (reply quotes and link previews reuse the
class, so only the message's own text div is read), ``time[datetime]`` and a views
span such as ``12.5K``. Older pages come from ``?before=<id>`` (exclusive). Parsed with
a real HTML parser; Telegram changes the markup without notice, so everything missing
is tolerated and a page without any message block is reported as a format change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from bs4 import BeautifulSoup, Tag
from pydantic import Field, field_validator

from collectors.base import FetchResult, JSONDict, RawItem, SourceError
from collectors.common import (
    CommonSettings,
    Pacer,
    clean_text,
    html_to_text,
    log_rejected,
    parse_iso,
    time_problem,
    to_int,
    validate_settings,
)
from collectors.http import safe_get
from collectors.sweep import Page, sweep

_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,63}$")
_VIEWS = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([KkMm]?)\s*$")


class Settings(CommonSettings):
    """``settings:`` of a public Telegram channel source."""

    channel: str
    base_url: str = "https://t.me"

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip().removeprefix("@").removeprefix("https://t.me/").removeprefix("s/")
        if not _CHANNEL.match(value):
            raise ValueError("must be the channel's public username (letters, digits, _; 4-64 characters)")
        return value

    max_pages: int = Field(3, ge=1, le=50)


def parse_views(text: str | None) -> int:
    """``"900"``, ``"1.2K"``, ``"12,5K"``, ``"1.1M"`` → a count (0 if unreadable)."""
    match = _VIEWS.match(text or "")
    if not match:
        return 0
    number = float(match.group(1).replace(",", "."))
    factor = {"k": 1_000, "m": 1_000_000}.get(match.group(2).lower(), 1)
    # Bounded like every count (a 400-digit "views" is infinite as a float, and int() of that raised).
    return to_int(number * factor)


def parse_channel_page(html: str, *, source: str, channel: str, now: datetime) -> Page:
    """Messages of one t.me/s page, newest first, keyed by message id (pure).

    ``next_token`` is the id to pass as ``before=`` for older messages (None on the
    oldest page). Raises :class:`SourceError` when the page has no message history at all
    (a login wall, an error page, a changed layout).
    """
    soup = BeautifulSoup(html, "html.parser")
    history = soup.find(class_="tgme_channel_history")
    blocks = soup.find_all("div", class_="tgme_widget_message", attrs={"data-post": True})
    if history is None and not blocks:
        raise SourceError(
            f"source {source}: t.me/s/{channel} has no message list — the channel may be private, "
            "have its preview disabled, or Telegram changed the page; check it in a browser"
        )
    items: list[tuple[Any, RawItem]] = []
    rejected = 0
    seen: set[int] = set()
    for block in blocks:
        if not isinstance(block, Tag):
            continue
        item, number, problem = _message(block, source=source, channel=channel, now=now)
        if item is None or number is None:
            rejected += 1
            log_rejected(source, block.get("data-post"), problem)
            continue
        if number in seen:
            rejected += 1
            log_rejected(source, item.external_id, "duplicate message id within one page")
            continue
        seen.add(number)
        items.append((number, item))
    items.sort(key=lambda pair: pair[0], reverse=True)
    more = soup.find("a", class_="tme_messages_more", attrs={"data-before": True})
    before = more.get("data-before") if isinstance(more, Tag) else None
    next_token = (
        int(before) if isinstance(before, str) and before.isascii() and before.isdigit() and int(before) > 1 else None
    )
    return Page(items, next_token, rejected)


_QUOTED = re.compile(r"tgme_widget_message_(reply|link_preview)")
"""Wrappers of a reply's quoted text and of link previews: a message text inside one is not the message's."""
_PARTS = (
    "tgme_widget_message_bubble",
    "tgme_widget_message_views",
    "tgme_widget_message_owner_name",
    "tgme_widget_message_forwarded_from_name",
)
_TIME = "time"


def _classes(tag: Tag) -> list[str]:
    """The tag's classes (html.parser gives a list; a plain string is split as Beautiful Soup matches it)."""
    value = tag.get("class")
    if value is None:
        return []
    return value.split() if isinstance(value, str) else list(value)


def _first_parts(block: Tag) -> dict[str, Tag]:
    """The first descendant (document order) carrying each class of ``_PARTS``, and the first ``<time datetime>``.

    What ``block.find`` gives for each, in one walk: five finds were two thirds of reading a message.
    """
    found: dict[str, Tag] = {}
    for tag in block.descendants:
        if not isinstance(tag, Tag):
            continue
        if _TIME not in found and tag.name == "time" and tag.get("datetime") is not None:
            found[_TIME] = tag
        classes = _classes(tag)
        if classes:
            for part in _PARTS:
                if part not in found and part in classes:
                    found[part] = tag
        if len(found) == len(_PARTS) + 1:
            break
    return found


def _quoted(tag: Tag) -> bool:
    """True when ``tag`` sits inside a reply's quote or a link preview (any ancestor, as ``find_parent`` looks)."""
    return any(_QUOTED.search(c) for parent in tag.parents for c in _classes(parent))


def _message(block: Tag, *, source: str, channel: str, now: datetime) -> tuple[RawItem | None, int | None, str]:
    post = str(block.get("data-post") or "")
    name, _, number_text = post.rpartition("/")
    if not (number_text.isascii() and number_text.isdigit()) or len(number_text) > 12:
        return None, None, f"data-post {post[:60]!r} has no message number"
    number = int(number_text)
    parts = _first_parts(block)
    bubble = parts.get("tgme_widget_message_bubble") or block
    text_div = None
    for candidate in bubble.find_all(class_="tgme_widget_message_text"):
        # Skip the quoted text of a reply and link previews: they sit inside other wrappers.
        if not _quoted(candidate):
            text_div = candidate
            break
    text = html_to_text(text_div.decode_contents()) if isinstance(text_div, Tag) else ""
    if not text:
        return None, None, "message has no text (photo, sticker or service message)"
    stamp = parts.get(_TIME)
    created = parse_iso(stamp.get("datetime")) if stamp is not None else None
    if created is None:
        return None, None, "message has no readable time"
    problem = time_problem(created, now)
    if problem:
        return None, None, problem
    views = parts.get("tgme_widget_message_views")
    owner = parts.get("tgme_widget_message_owner_name")
    author = clean_text(owner.get_text(), 200) if isinstance(owner, Tag) else channel
    forwarded = parts.get("tgme_widget_message_forwarded_from_name")
    extra: dict[str, Any] = {"channel": name or channel}
    if isinstance(forwarded, Tag):
        extra["forwarded_from"] = clean_text(forwarded.get_text(), 200)
    return (
        RawItem(
            source=source,
            platform="telegram",
            external_id=f"{name or channel}/{number}",
            text=text,
            created_at=created,
            url=f"https://t.me/{name or channel}/{number}",
            author=author or channel,
            views=parse_views(views.get_text() if isinstance(views, Tag) else None),
            extra=extra,
        ),
        number,
        "",
    )


class TelegramChannelCollector:
    """One public channel's web preview."""

    platform = "telegram"

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self._pacer = Pacer(settings.min_request_interval)

    def _page(self, client: httpx.Client, before: Any | None, now: datetime) -> Page:
        self._pacer.wait()
        fetched = safe_get(
            client,
            f"{self.settings.base_url.rstrip('/')}/s/{self.settings.channel}",
            source=self.name,
            now=now,
            params={"before": str(before)} if before else None,
            limits=self.settings.limits(),
        )
        return parse_channel_page(fetched.text(), source=self.name, channel=self.settings.channel, now=now)

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Messages newer than the last completed walk (older pages via ``before=``)."""
        result = sweep(
            dict(cursor),
            lambda before: self._page(client, before, now),
            max_pages=self.settings.max_pages,
            source=self.name,
        )
        return FetchResult(
            items=result.items,
            cursor=result.cursor,
            rejected=result.rejected,
            calls=result.calls,
            rate_limit=result.rate_limit,
        )


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> TelegramChannelCollector:
    """Build the collector for one configured public channel."""
    parsed = validate_settings(Settings, name, settings)
    if not parsed.base_url.startswith(("http://", "https://")):
        raise ValueError(f"source {name}: settings.base_url: must start with https://")
    return TelegramChannelCollector(name, parsed)
