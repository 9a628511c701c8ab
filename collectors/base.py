"""The small protocol every collector implements, and the values it returns.

A collector knows one source's wire format, URLs, auth, paging and cursor.
It never classifies, stores or alerts: it returns :class:`RawItem` values and
a new cursor, and the ingest stage stores them before the cursor is saved.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RawItem:
    """One post, comment or news item exactly as a source reported it."""

    source: str
    """Name of the configured source (``sources[].name`` in config.yaml)."""
    platform: str
    """Kind of platform: rss, googlenews, mastodon, reddit, bluesky, telegram, x, youtube, ..."""
    external_id: str
    """The source's own id for the item; unique per source."""
    text: str
    created_at: datetime
    """Timezone-aware (UTC) publication time."""
    url: str | None = None
    author: str | None = None
    """Author handle or name as published; ingest pseudonymises it before storage."""
    title: str | None = None
    kind: str = "post"
    """post | comment | news"""
    parent_id: str | None = None
    """External id of the post or thread this item replies to, if any."""
    likes: int = 0
    shares: int = 0
    replies: int = 0
    views: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Source-specific facts worth keeping (news outlet name, channel, ...)."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one collector run produced."""

    items: list[RawItem]
    cursor: JSONDict
    """The cursor to store once ``items`` are safely stored."""
    not_modified: bool = False
    rejected: int = 0
    """Items skipped as malformed (each logged with the reason)."""
    calls: int = 0
    """HTTP requests made (for quota accounting)."""
    rate_limit: JSONDict = field(default_factory=dict)
    """Last rate-limit state the source reported (remaining, reset, retry_after)."""


class SourceError(Exception):
    """A source failed in a way the operator should see; the message says what to do."""

    retry_after: float | None = None

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(SourceError):
    """The source asked us to slow down (429 or quota exhausted)."""


class AuthFailed(SourceError):
    """The token is missing, expired or revoked (401/403): stop calling until fixed."""


class Collector(Protocol):
    """One configured source."""

    name: str
    platform: str

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Fetch items newer than ``cursor``; must not mutate ``cursor``."""
        ...


class KeepsSecrets:
    """Base of a collector that holds a token, key or password: its repr names only the class and the source.

    A collector ends up in log lines and tracebacks; dataclass-style or default reprs would print the
    secret its attributes hold, so every such collector takes this one instead of writing its own.
    """

    name: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class CollectorFactory(Protocol):
    def __call__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> Collector: ...


def load_collector(kind: str, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> Collector:
    """Build the collector for ``kind`` from the module ``collectors.<kind>``.

    A new source kind is a new module exposing ``create(name, settings, secrets)``;
    nothing else in the tree changes.
    """
    if not kind.isidentifier():
        raise ValueError(f"source kind {kind!r} is not a valid module name")
    try:
        module = importlib.import_module(f"collectors.{kind}")
    except ModuleNotFoundError as exc:
        raise ValueError(f"unknown source kind {kind!r}: no module collectors/{kind}.py") from exc
    factory: CollectorFactory = module.create
    return factory(name, settings, secrets)


@dataclass(frozen=True, slots=True)
class MetricsReading:
    """A fresh engagement reading of one already-stored post."""

    external_id: str
    likes: int = 0
    shares: int = 0
    replies: int = 0
    views: int = 0


class MetricsLookup(Protocol):
    """Implemented by collectors whose source can look posts up by id (engagement tracking)."""

    max_ids_per_call: int
    """How many ids one lookup call may carry (e.g. 100 for X, 50 for YouTube)."""

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Return readings for the ids still visible and the number of API calls made."""
        ...
