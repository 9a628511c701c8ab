"""What the per-source wire renderers share: time formats, id digits, handles, ordering (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime

from collectors.base import RawItem


def rfc822(when: datetime) -> str:
    """``when`` as an RFC 822 date in GMT, as RSS ``<pubDate>`` carries it."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def iso_millis(when: datetime) -> str:
    """``when`` as ISO 8601 UTC with milliseconds and ``Z`` (Mastodon, Bluesky, X)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_seconds(when: datetime) -> str:
    """``when`` as ISO 8601 UTC in whole seconds with ``Z`` (YouTube)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digits(item: RawItem) -> int:
    """The number inside ``item``'s id (``mastodon-00012`` -> 12), 0 when it has none."""
    return int(re.sub(r"\D", "", item.external_id) or "0")


def newest_first(items: Iterable[RawItem]) -> list[RawItem]:
    """``items`` newest first, ties broken by id so pages are stable."""
    return sorted(items, key=lambda i: (i.created_at, i.external_id), reverse=True)


def handle(item: RawItem, width: int = 30) -> str:
    """A username the services accept, made from ``item``'s author (at most ``width`` characters)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", item.author or "warga")[:width] or "warga"
